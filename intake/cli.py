"""Command line: `intake run`, `poll --once`, `parse`, `rules`, `outbox`, `quarantine`,
`digest`, `export`, `status`, `purge`, `forget`, `demo`.

Any IntakeError becomes one line on stderr and exit status 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import click

from intake import __version__, config, logs, resources
from intake.errors import IntakeError

CONFIG_ENV = "INTAKE_CONFIG"
LOG_FORMAT = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per event: key=value text, or JSON for log shippers.",
)


class IntakeGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except IntakeError as exc:
            click.echo(f"intake: error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=IntakeGroup)
@click.version_option(__version__, prog_name="intake")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    envvar=CONFIG_ENV,
    default=config.DEFAULT_PATH,
    show_default=True,
    help=f"Configuration file (or ${CONFIG_ENV}). Without one, `parse` and `rules` use the "
    "rules and templates this package ships (see `intake init` to copy them).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every message handled.")
@LOG_FORMAT
@click.pass_context
def cli(ctx: click.Context, config_path: Path, verbose: bool, log_format: str) -> None:
    """Turn job-application mailboxes into a triaged pipeline.

    \b
    Packaged defaults (used without a config file; `intake init DIR` copies them):
      rules:     {rules}
      templates: {templates}
    """
    logs.setup(logging.INFO if verbose else logging.WARNING, log_format)
    ctx.obj = config_path


cli.help = (cli.help or "").format(rules=resources.rules(), templates=resources.templates())


def load_config(ctx: click.Context) -> config.Config:
    return config.load(ctx.obj)


@cli.command()
@click.option("--once", is_flag=True, help="Poll every mailbox once, then exit.")
@click.option("--mailbox", "names", multiple=True, help="Only this mailbox (repeatable).")
@click.option("--until-empty", is_flag=True, help="Poll again while max_per_poll leaves a backlog.")
@click.pass_context
def poll(ctx: click.Context, once: bool, names: tuple[str, ...], until_empty: bool) -> None:
    """Fetch new mail from the configured mailboxes and store it (a progress bar on long
    work; the backlog column says what max_per_poll left for the next poll)."""
    from rich.console import Console
    from rich.progress import Progress

    from intake.daemon.pipeline import poll_all
    from intake.reports.status import print_stats

    if not once:
        raise click.UsageError("poll needs --once; `intake run` is the daemon")
    cfg = load_config(ctx)
    totals: dict = {}
    with Progress(console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, int] = {}

        def show(stats) -> None:
            task = tasks.setdefault(stats.mailbox, bar.add_task(f"polling {stats.mailbox}"))
            bar.update(task, completed=stats.fetched, total=stats.fetched + stats.backlog)

        while True:
            rounds = poll_all(cfg, names or None, committed=show)
            for row in rounds:
                totals[row.mailbox] = totals[row.mailbox] + row if row.mailbox in totals else row
            left = tuple(r.mailbox for r in rounds if r.backlog and r.fetched and not r.error)
            if not (until_empty and left):
                break
            names = left
    stats = list(totals.values())
    print_stats(stats)
    for row in stats:
        if row.error:
            click.echo(f"intake: error: {row.error}", err=True)
    if any(row.error for row in stats):
        ctx.exit(1)


RULES_OPTION = click.option(
    "--rules",
    "rules_path",
    type=click.Path(path_type=Path, file_okay=False),
    help="Posting rules directory (default: the config's [rules] dir, else ./rules).",
)
MAILBOX_OPTION = click.option(
    "--mailbox", help="The mailbox the message arrived in (careers, interns...)."
)


def rules_dir(ctx: click.Context, option: Path | None) -> Path:
    """--rules, else the config file's rules dir when there is a config file, else shipped."""
    from intake.decisions.rules import DEFAULT_DIR

    if option:
        return option
    return load_config(ctx).rules_dir if Path(ctx.obj).exists() else DEFAULT_DIR


def judge(ctx: click.Context, file: Path, mailbox: str | None, rules_path: Path | None):
    """The decision the pipeline would make about one .eml file, with no history (no
    database): the same pure function the daemon calls."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from intake.decisions.decision import History, Setup, decide
    from intake.decisions.rules import load_all
    from intake.extraction.extract import read_isolated
    from intake.limits import Limits

    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise IntakeError(f"{file}: {exc.strerror or exc}") from None
    if not looks_like_mail(raw):
        raise IntakeError(f"{file}: not a mail message (no header block such as From: ...)")
    postings = load_all(rules_dir(ctx, rules_path))
    configured = load_config(ctx) if Path(ctx.obj).exists() else None
    if mailbox is not None:
        known = {p.mailbox for p in postings.values()}
        known |= {b.name for b in configured.mailboxes} if configured else set()
        if mailbox not in known:
            raise IntakeError(f"no mailbox named {mailbox!r} (known: {', '.join(sorted(known))})")
    if configured:
        from intake.daemon.pipeline import processor_for

        setup = replace(processor_for(configured).setup(mailbox), postings=postings)
    else:
        setup = Setup(postings, mailbox)
    part = read_isolated(raw, configured.limits if configured else Limits())
    return decide(part, History(), setup, datetime.now(UTC))


_FIELD_LINE = re.compile(rb"^(?:From [^\r\n]*\r?\n)?[!-9;-~]+[ \t]*:")


def looks_like_mail(raw: bytes) -> bool:
    """A message starts with a header field (after an mbox "From " line, if any)."""
    return bool(_FIELD_LINE.match(raw.lstrip(b"\r\n")))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON contract.")
@MAILBOX_OPTION
@RULES_OPTION
@click.pass_context
def parse(
    ctx: click.Context, file: Path, as_json: bool, mailbox: str | None, rules_path: Path | None
) -> None:
    """Show what the pipeline extracts and decides for one message, without a database."""
    from intake.decisions.decision import contract

    result = contract(judge(ctx, file, mailbox, rules_path), mailbox)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print_summary(result)


def print_summary(result: dict) -> None:
    sender, applicant, referrer = result["sender"], result["applicant"], result["referred_by"]
    click.echo(f"kind:     {result['kind']} (score {result['score']})")
    click.echo(f"posting:  {result['posting'] or '-'} ({result['status'] or 'not evaluated'})")
    click.echo(f"from:     {sender['name'] or ''} <{sender['email'] or '?'}>")
    if applicant and applicant != sender:
        click.echo(f"applicant: {applicant['name'] or ''} <{applicant['email'] or '?'}>")
    if referrer:
        click.echo(f"referred by: {referrer['name'] or ''} <{referrer['email'] or '?'}>")
    click.echo(f"subject:  {result['subject']}")
    click.echo(f"github:   {', '.join(result['github']) or '-'}")
    period = result["internship_period"]
    span = f"{period['start']}..{period['end'] or '?'} ({period['text']})" if period else "-"
    click.echo(f"period:   {span}")
    click.echo(f"area:     {result['internship_area'] or '-'}")
    eligibility = result["eligibility"]
    click.echo(f"eligible: {eligibility['status']} {' '.join(eligibility['basis'])}")
    for item in eligibility["evidence"]:
        click.echo(f'          {item["code"]}: "{item["text"]}"')
    resume = result["resume"]
    state = f" ({resume['state']})" if resume and resume["state"] != "text" else ""
    click.echo(
        f"resume:   {(resume['filename'] or 'pasted in the body') if resume else '-'}{state}"
    )
    for doc in result["attachments"]:
        click.echo(f"document: {doc['filename'] or '(no name)'}: {doc['role']}, {doc['state']}")
    for flag in result["flags"]:
        click.echo(f"flag:     {flag['code']}: {flag['message']}")
    for reply in result["replies"]:
        click.echo(f"reply:    {_reply_line(reply)}")
    if resume:
        click.echo("\n--- resume text ---\n" + resume["text"].strip())


def _reply_line(reply: dict) -> str:
    to = reply["to"] or "?"
    if reply["status"] == "skipped":
        return f"none to {reply['role']} {to}: {reply['reason']}"
    if reply["status"] == "suppressed":
        return f"{reply['template']} to {reply['role']} {to}, suppressed: {reply['reason']}"
    return f"{reply['template']} to {reply['role']} {to}"


@cli.group()
def rules() -> None:
    """Validate and explain the posting rules under rules/."""


@rules.command("check")
@RULES_OPTION
@click.pass_context
def rules_check(ctx: click.Context, rules_path: Path | None) -> None:
    """Validate every rules file; each problem is printed as file:line: message."""
    from intake.decisions.rules import RulesError, load_all
    from intake.replies.messages import DEFAULT_TEMPLATES, check_templates

    directory = rules_dir(ctx, rules_path)
    try:
        postings = load_all(directory)
    except RulesError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        ctx.exit(1)
    templates = load_config(ctx).templates_dir if Path(ctx.obj).exists() else DEFAULT_TEMPLATES
    check_templates(templates, postings)
    click.echo(f"{len(postings)} postings OK in {directory}: {', '.join(postings)}")
    click.echo(f"every reply template they name exists in {templates}")


@rules.command("explain")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("--message", "message_id", type=int, help="A stored message (rawmessage id).")
@MAILBOX_OPTION
@RULES_OPTION
@click.pass_context
def rules_explain(
    ctx: click.Context,
    file: Path | None,
    message_id: int | None,
    mailbox: str | None,
    rules_path: Path | None,
) -> None:
    """Why a message is what it is: every signal and its weight, the routing scores, every
    check hit or miss, the status and who gets which reply. FILE is judged alone;
    --message ID is a stored message judged with its real history."""
    if (file is None) == (message_id is None):
        raise click.UsageError("give either FILE or --message ID")
    decision = judge(ctx, file, mailbox, rules_path) if file else stored_decision(ctx, message_id)
    for line in explain_lines(decision):
        click.echo(line)


def stored_decision(ctx: click.Context, message_id: int):
    """A stored message's decision, made again now with its real history."""
    from datetime import UTC, datetime

    from intake.daemon.pipeline import processor_for
    from intake.daemon.processing import judge as judge_stored
    from intake.storage.models import RawMessage

    cfg = load_config(ctx)
    with database(ctx) as session:
        raw = session.get(RawMessage, message_id)
        if raw is None:
            raise IntakeError(f"no stored message {message_id}")
        if raw.purged_at is not None:
            raise IntakeError(f"message {message_id}: its raw bytes were deleted by retention")
        return judge_stored(session, raw, processor_for(cfg), datetime.now(UTC))


def explain_lines(decision) -> list[str]:
    verdict, evaluation = decision.verdict, decision.evaluation
    lines = [f"kind: {decision.kind} ({verdict.reason or verdict.kind})"]
    for hit in verdict.signals:
        mark = f"{hit.weight:+3d}" if hit.fired else "  ."
        lines.append(f"  {mark} {hit.signal}" + (f': "{hit.evidence}"' if hit.fired else ""))
    if verdict.signals:
        lines.append(f"  score {verdict.score}")
    for role, person in (("applicant", decision.applicant), ("referred by", decision.referrer)):
        if person:
            lines.append(f"{role}: {person.name or ''} <{person.email or '?'}>")
    if decision.target:
        lines.append(f"folded into application #{decision.target}")
    if evaluation.route.scores:
        scores = ", ".join(f"{p}={n}" for p, n in evaluation.route.scores.items())
        lines.append(f"routing scores: {scores}")
    if evaluation.route.flag:
        lines.append(f"posting: none: {evaluation.route.flag.message}")
    elif evaluation.posting is None:
        lines.append("posting: none (not an application, or no posting for this mailbox)")
    else:
        lines.append(f"posting: {evaluation.posting}")
    for result in evaluation.results:
        if result.flag:
            evidence = f' ("{result.flag.evidence}")' if result.flag.evidence else ""
            lines.append(
                f"  FIRED {result.name}: {result.flag.code}: {result.flag.message}{evidence}"
            )
        else:
            lines.append(f"  ok    {result.name}")
    lines.append(f"status: {evaluation.status or '-'}")
    lines += [f"reply: {_reply_line(r.to_json())}" for r in decision.replies]
    return lines


@cli.command()
@click.option("--posting", help="Only messages for this posting's mailbox.")
@click.pass_context
def reprocess(ctx: click.Context, posting: str | None) -> None:
    """Re-run extraction and rules over stored mail after a rule change."""
    from rich.progress import Progress

    from intake.daemon.pipeline import processor_for
    from intake.daemon.pipeline import reprocess as run
    from intake.storage.db import make_engine

    cfg = load_config(ctx)
    processor = processor_for(cfg)
    with Progress(transient=True) as bar:
        task = bar.add_task("reprocessing", total=None)
        counts = run(
            make_engine(cfg.database_url, create=False),
            processor,
            posting,
            lambda done, total: bar.update(task, completed=done, total=total),
        )
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    click.echo(f"reprocessed {sum(counts.values())} messages: {summary or 'none stored'}")


@cli.command()
@click.option("--log-format", type=click.Choice(["text", "json"]), help="As for intake.")
@click.option("--wait", is_flag=True, help="If another daemon runs, wait to take over.")
@click.pass_context
def run(ctx: click.Context, log_format: str | None, wait: bool) -> None:
    """The daemon: poll (or IDLE), send replies, write the digest; until SIGTERM. With
    [workers] engine = "procrastinate", one worker of a fleet sharing PostgreSQL."""
    logs.setup(logging.INFO, log_format or ctx.parent.params["log_format"])
    cfg = load_config(ctx)
    if cfg.workers.engine == "procrastinate":
        from intake.daemon.fleet import Fleet

        cfg.require_secrets(list(cfg.mailboxes), smtp=True)
        Fleet(cfg).run(cfg.workers.concurrency)
        return
    from intake.daemon.scheduler import Daemon

    Daemon(cfg, wait=wait).run()


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "prometheus"]),
    default="text",
    show_default=True,
    help="json: a stable document for monitoring; prometheus: metrics for a scrape.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@click.pass_context
def status(ctx: click.Context, fmt: str, as_json: bool) -> None:
    """Per mailbox its state (ok, failing, never connected), checkpoint, last poll and
    backlog; outbox, applications, quarantine, last digest."""
    from intake.reports.status import as_prometheus, as_text, gather

    with database(ctx) as session:
        found = gather(session, load_config(ctx))
    fmt = "json" if as_json else fmt
    show = {"json": lambda s: json.dumps(s, indent=2), "prometheus": as_prometheus}
    click.echo(show.get(fmt, as_text)(found), nl=fmt != "prometheus")


SINCE = click.option("--since", help="A window such as 7d, 12h or 30m, or an ISO date.")
POSTING = click.option("--posting", help="Only this posting (a rules file stem).")


def known_posting(cfg: config.Config, posting: str | None) -> None:
    """An unknown --posting is an error listing the known ones, never an empty result."""
    from intake.decisions.rules import load_all

    if posting is not None:
        postings = load_all(cfg.rules_dir)
        if posting not in postings:
            raise IntakeError(f"no posting {posting!r} (known: {', '.join(postings)})")


@cli.command("digest")
@SINCE
@POSTING
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "html", "csv", "json"]),
    default="text",
    show_default=True,
)
@click.pass_context
def digest_command(ctx: click.Context, since: str | None, posting: str | None, fmt: str) -> None:
    """Print the digest now (since the last one sent, unless --since); sends nothing."""
    from datetime import UTC, datetime

    from intake.decisions.rules import load_all
    from intake.reports import digest, export
    from intake.storage.db import make_engine

    cfg = load_config(ctx)
    known_posting(cfg, posting)
    now = datetime.now(UTC)
    engine = make_engine(cfg.database_url, create=False)
    start = digest.window(engine, now, parse_since(since, now))
    if fmt in ("csv", "json"):
        with database(ctx) as session:
            rows = export.application_rows(session, since=start, posting=posting)
        click.echo(export.to_csv(rows) if fmt == "csv" else export.to_json(rows), nl=False)
        return
    found = digest.collect(cfg, engine, load_all(cfg.rules_dir), now, start, posting)
    click.echo(digest.render(found, cfg.templates_dir, "txt" if fmt == "text" else "html"))


@cli.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@SINCE
@POSTING
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file instead of standard output.",
)
@click.pass_context
def export_command(
    ctx: click.Context, fmt: str, since: str | None, posting: str | None, output: Path | None
) -> None:
    """Every application with its fields and flags (one CSV row or JSON object each)."""
    from datetime import UTC, datetime

    from intake.reports import export

    known_posting(load_config(ctx), posting)
    with database(ctx) as session:
        rows = export.application_rows(session, parse_since(since, datetime.now(UTC)), posting)
    text = export.to_csv(rows) if fmt == "csv" else export.to_json(rows) + "\n"
    if output:
        output.write_text(text, encoding="utf-8", newline="")
        click.echo(f"{len(rows)} applications written to {output}", err=True)
    else:
        click.echo(text, nl=False)


def parse_since(value: str | None, now):
    """ "7d", "12h", "30m" back from now, or an ISO date/time (UTC unless it says)."""
    from datetime import UTC, datetime, timedelta

    if not value:
        return None
    units = {"d": "days", "h": "hours", "m": "minutes", "w": "weeks"}
    if value[:-1].isdigit() and value[-1:] in units:
        return now - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use 7d, 12h, 30m, 2w or a date like 2026-11-01", param_hint="--since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@cli.group()
def outbox() -> None:
    """The replies: queued, sent, suppressed (and why), failed."""


@outbox.command("list")
@click.option("--status", help="Only rows with this status (pending, sent, failed...).")
@click.option("--limit", default=50, show_default=True, help="Newest rows shown.")
@click.pass_context
def outbox_list(ctx: click.Context, status: str | None, limit: int) -> None:
    """One line per reply, newest first."""
    from sqlmodel import col, select

    from intake.storage.models import Outbox

    query = select(Outbox).order_by(col(Outbox.id).desc()).limit(limit)
    if status:
        query = query.where(Outbox.status == status)
    with database(ctx) as session:
        found = list(session.exec(query))
    click.echo(
        f"{'id':>6}  {'status':<10}  {'to':<32}  {'template':<20}  tries  created           reason"
    )
    for row in found:
        click.echo(
            f"{row.id:>6}  {row.status:<10}  {row.to_address:<32}  {row.template:<20}  "
            f"{row.attempts:>5}  {row.created_at:%Y-%m-%d %H:%M}  {row.reason or ''}"
        )


@outbox.command("show")
@click.argument("row_id", type=int)
@click.pass_context
def outbox_show(ctx: click.Context, row_id: int) -> None:
    """One reply: its status, then the message exactly as it is (or was) sent."""
    from intake.storage.models import Outbox

    with database(ctx) as session:
        row = session.get(Outbox, row_id)
        if row is None:
            raise IntakeError(f"no outbox row {row_id}")
        click.echo(
            f"status: {row.status}{f' ({row.reason})' if row.reason else ''}; "
            f"attempts: {row.attempts}; envelope from: {row.envelope_from}\n"
        )
        click.echo(row.raw.decode("utf-8", "replace"))


@outbox.command("send")
@click.option("--now", "ignore_backoff", is_flag=True, help="Also rows waiting for a retry.")
@click.pass_context
def outbox_send(ctx: click.Context, ignore_backoff: bool) -> None:
    """Send the pending replies that are due."""
    from datetime import UTC, datetime

    from intake.replies.outbox import send_due
    from intake.storage.db import make_engine

    cfg = load_config(ctx)
    if cfg.smtp is None or cfg.smtp.dry_run:
        raise IntakeError("no [smtp] table, or smtp.dry_run = true: nothing can be sent")
    cfg.require_secrets([], smtp=True)
    engine = make_engine(cfg.database_url, create=False)
    stats = send_due(engine, cfg.smtp, datetime.now(UTC), ignore_backoff=ignore_backoff)
    click.echo(f"sent {stats.sent}, retrying later {stats.retrying}, failed {stats.failed}")
    if stats.failed or stats.retrying:
        ctx.exit(1)


@outbox.command("retry")
@click.argument("ids", type=int, nargs=-1)
@click.pass_context
def outbox_retry(ctx: click.Context, ids: tuple[int, ...]) -> None:
    """Queue failed replies again (these ids, or every failed one)."""
    from datetime import UTC, datetime

    from intake.replies.outbox import retry

    with database(ctx) as session:
        count = retry(session, list(ids), datetime.now(UTC))
        session.commit()
    click.echo(f"{count} replies queued again; `intake outbox send` sends them")


@cli.group()
def quarantine() -> None:
    """Messages that could not be processed: why, and processing them again."""


@quarantine.command("list")
@click.option("--limit", default=50, show_default=True, help="Newest rows shown.")
@click.pass_context
def quarantine_list(ctx: click.Context, limit: int) -> None:
    """One line per quarantined message, newest first: id, mailbox, when, why."""
    from intake.reports.quarantine import listed

    with database(ctx) as session:
        found = listed(session, limit)
    click.echo(f"{'id':>6}  {'mailbox':<12}  fetched           reason")
    for row in found:
        click.echo(f"{row.id:>6}  {row.mailbox:<12}  {row.fetched_at:%Y-%m-%d %H:%M}  {row.error}")


@quarantine.command("show")
@click.argument("row_id", type=int)
@click.pass_context
def quarantine_show(ctx: click.Context, row_id: int) -> None:
    """One quarantined message: the reason, where it came from, and its headers."""
    from intake.reports.quarantine import headers, quarantined, refusal

    with database(ctx) as session:
        raw = quarantined(session, row_id)
        click.echo(f"reason:  {raw.error}")
        click.echo(f"mailbox: {raw.mailbox} (folder {raw.folder}, uid {raw.uid})")
        click.echo(f"fetched: {raw.fetched_at:%Y-%m-%d %H:%M}; size {raw.size} bytes")
        click.echo(f"retry:   {refusal(raw) or 'possible (`intake quarantine retry ID`)'}")
        for name, value in headers(raw.raw):
            click.echo(f"{name}: {value}")


@quarantine.command("retry")
@click.argument("ids", type=int, nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every quarantined message.")
@click.pass_context
def quarantine_retry(ctx: click.Context, ids: tuple[int, ...], every: bool) -> None:
    """Process quarantined messages again (after a fix, or with new limits) and print
    each one's new status. A reply due is queued once, as if it had worked the first time."""
    from intake.daemon.pipeline import processor_for, rerun
    from intake.reports.quarantine import listed, quarantined, refusal
    from intake.storage.db import make_engine

    if bool(ids) == every:
        raise click.UsageError("give message ids or --all")
    cfg = load_config(ctx)
    with database(ctx) as session:
        rows = listed(session) if every else [quarantined(session, i) for i in ids]
    refused = {row.id: refusal(row) for row in rows if refusal(row)}
    if refused and not every:
        raise IntakeError("; ".join(refused.values()))
    engine = make_engine(cfg.database_url, create=False)
    wanted = sorted(row.id for row in rows if row.id not in refused)
    for raw_id, outcome in rerun(engine, processor_for(cfg), wanted).items():
        click.echo(f"{raw_id}: {outcome}")
    for raw_id in sorted(refused):
        click.echo(f"{raw_id}: still quarantined: never downloaded or purged")


YES = click.option("--yes", is_flag=True, help="Delete; without it, only count (a dry run).")


def _report(counts: dict[str, int], applied: bool) -> None:
    verb = "deleted" if applied else "would delete (dry run; --yes deletes)"
    click.echo(
        f"{verb}: " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
    )


@cli.command()
@YES
@click.pass_context
def purge(ctx: click.Context, yes: bool) -> None:
    """Apply [retention]: delete the raw mail and document text whose time is up (a dry
    run without --yes). The daemon does this daily."""
    from datetime import UTC, datetime

    from intake.daemon.pipeline import purge as run
    from intake.storage.db import make_engine

    cfg = load_config(ctx)
    if not cfg.retention.deletes:
        click.echo("[retention] keeps everything (every *_days is 0): nothing to purge")
        return
    engine = make_engine(cfg.database_url, create=False)
    _report(run(engine, cfg, datetime.now(UTC), apply=yes), yes)


@cli.command()
@click.argument("address")
@YES
@click.pass_context
def forget(ctx: click.Context, address: str, yes: bool) -> None:
    """Delete everything stored about one person (a dry run without --yes), keeping only
    a salted hash of their address so their mail is never stored again."""
    from datetime import UTC, datetime

    from intake.storage.privacy import forget as run
    from intake.storage.privacy import normalise

    if "@" not in normalise(address):
        raise click.BadParameter(f"{address!r} is not an email address", param_hint="ADDRESS")
    with database(ctx) as session:
        counts = run(session, address, datetime.now(UTC), apply=yes)
        session.commit()
    _report(counts, yes)
    if yes:
        click.echo("kept: a tombstone (salted hash of the address); their mail is not stored again")


def database(ctx: click.Context):
    """A session on the configured database, which must exist (read commands never make one)."""
    from intake.storage.db import make_engine
    from intake.storage.db import session as open_session

    return open_session(make_engine(load_config(ctx).database_url, create=False))


@cli.group()
def db() -> None:
    """The database schema: where it stands, and migrating it after an upgrade."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Migrate the database to this release's schema, in place (stop the daemon first)."""
    from intake.storage.db import upgrade

    url = load_config(ctx).database_url
    before, now = upgrade(url)
    if before.has_tables and before.revision == now:
        click.echo(f"{url}: already at revision {now}")
    else:
        click.echo(f"{url}: {before.describe} -> revision {now}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """The database's schema revision, and this release's."""
    from intake.storage.db import HEAD, current

    url = load_config(ctx).database_url
    found = current(url)
    state = "up to date" if found.revision == HEAD else "run `intake db upgrade`"
    click.echo(f"{url}: {found.describe}; this release: revision {HEAD} ({state})")


@cli.command()
@click.option("--host", help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: [web] port, 8080).")
@click.pass_context
def web(ctx: click.Context, host: str | None, port: int | None) -> None:
    """The recruiters' workspace: the applications in a browser, with decisions (put it
    behind a reverse proxy for TLS; its session key comes from [web] secret_env)."""
    from intake.web.serve import serve

    serve(load_config(ctx), host, port)


PASSWORD_ENV = click.option(
    "--password-env",
    metavar="VAR",
    help="Read the password from this environment variable instead of asking for it.",
)


def _password(password_env: str | None) -> str:
    import os

    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            raise click.UsageError(f"environment variable {password_env} is not set")
        return value
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@cli.group()
def users() -> None:
    """Recruiters' accounts for `intake web`."""


@users.command("add")
@click.argument("username")
@click.option(
    "--posting", "postings", multiple=True, help="Only this posting's applications (repeatable)."
)
@PASSWORD_ENV
@click.pass_context
def users_add(
    ctx: click.Context, username: str, postings: tuple[str, ...], password_env: str | None
) -> None:
    """Add an account (it sees every posting unless --posting limits it)."""
    from intake.web import accounts

    cfg = load_config(ctx)
    for posting in postings:
        known_posting(cfg, posting)
    with _writable(ctx) as session:
        accounts.add(session, username, _password(password_env), list(postings) or None)
        session.commit()
    click.echo(f"added {username} ({', '.join(postings) or 'every posting'})")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Every account, the postings it sees and its failed sign-ins."""
    from sqlmodel import select

    from intake.storage.models import Recruiter

    with database(ctx) as session:
        for account in session.exec(select(Recruiter).order_by(Recruiter.username)):
            sees = ", ".join(account.postings) if account.postings is not None else "every posting"
            click.echo(f"{account.username}\t{sees}\tfailed sign-ins: {account.failed_signins}")


@users.command("remove")
@click.argument("username")
@click.pass_context
def users_remove(ctx: click.Context, username: str) -> None:
    """Remove an account (its decisions stay, with its name)."""
    from intake.web import accounts

    with database(ctx) as session:
        session.delete(accounts.find(session, username))
        session.commit()
    click.echo(f"removed {username}")


@users.command("passwd")
@click.argument("username")
@PASSWORD_ENV
@click.pass_context
def users_passwd(ctx: click.Context, username: str, password_env: str | None) -> None:
    """Set an account's password (signing its sessions out, and unlocking it)."""
    from intake.web import accounts

    with database(ctx) as session:
        accounts.set_password(session, username, _password(password_env))
        session.commit()
    click.echo(f"password set for {username}")


def _writable(ctx: click.Context):
    """A session on the configured database, made if there is none yet."""
    from intake.storage.db import make_engine
    from intake.storage.db import session as open_session

    return open_session(make_engine(load_config(ctx).database_url))


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), required=False)
@click.option("--systemd", is_flag=True, help="Print a systemd unit for `intake run` instead.")
@click.pass_context
def init(ctx: click.Context, directory: Path | None, systemd: bool) -> None:
    """Write a starter config.toml, rules/ and templates/ into DIRECTORY (never overwrites)."""
    from intake.starter import init as write_starter
    from intake.starter import systemd_unit

    if systemd:
        click.echo(systemd_unit(), nl=False)
        return
    if directory is None:
        raise click.UsageError("give a DIRECTORY to write into (or --systemd)")
    for path in write_starter(directory):
        click.echo(f"wrote {path}")
    click.echo(
        f"next: edit {directory / 'config.toml'} (mailboxes, [smtp]), put the passwords in the "
        "environment variables it names, then `intake --config "
        f"{directory / 'config.toml'} rules check` and `... poll --once`"
    )


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the demo's temp directory and print it.")
@click.option(
    "--web", is_flag=True, help="Then serve the recruiters' workspace on it until Ctrl-C."
)
@click.option("--port", type=int, help="The workspace's port with --web (default: a free one).")
def demo(keep: bool, web: bool, port: int | None) -> None:
    """Run the pipeline on the sample mail against embedded IMAP and SMTP servers."""
    from intake.demo.run import run_demo
    from intake.demo.servers import free_port

    run_demo(keep=keep, web_port=(port or free_port()) if web else None)


def main() -> None:
    """The `intake` command. Every usage error is one `intake: error:` line, exit 2."""
    try:
        code = cli(prog_name="intake", standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (try `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        click.echo(f"intake: error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"intake: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("intake: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
