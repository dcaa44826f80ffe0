"""The rules engine against the shipped postings: routing, every check, status, errors."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from intake.cli import cli
from intake.decisions.checks import CHECKS, evaluate
from intake.decisions.rules import DEFAULT_DIR, RulesError, for_mailbox, load_all, load_posting
from intake.extraction.extract import extract
from intake.mail.parse import parse_message
from tests.builders import make_mail, make_pdf
from tests.judging import decision_of

POSTINGS = load_all(DEFAULT_DIR)
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "postings"
RESUME = make_pdf(
    ["Jane Doe", "Relevant coursework: Machine Learning, Algorithms"],
    link="https://github.com/janedoe",
)
LETTER = (
    "Dear Numenta team, I have followed your work on cortical theory for years and I "
    "would be glad to contribute to it. I have built several research prototypes in "
    "Python and I enjoy careful experiments. "
)


def judge(
    body: str,
    *,
    mailbox: str = "interns",
    subject: str = "Internship application",
    resume: bool = True,
    received: date = date(2017, 11, 1),
    history=(),
    rules: dict | None = None,
    **mail,
):
    attachments = [("Jane_Doe_Resume.pdf", "application/pdf", RESUME)] if resume else []
    raw = make_mail(LETTER + body, subject=subject, attachments=attachments, **mail)
    extraction = extract(parse_message(raw))
    candidates = for_mailbox(rules or POSTINGS, mailbox)
    return evaluate(extraction, candidates, received, history)


def codes(evaluation) -> list[str]:
    return sorted(f.code for f in evaluation.flags)


def test_a_rules_file_for_every_shared_posting():
    shared = {p.stem for p in SHARED.glob("*.md") if p.stem != "README"}
    assert shared == set(POSTINGS)
    assert [p.id for p in for_mailbox(POSTINGS, "careers")] == ["numenta-ml-engineer"]
    assert sorted(p.id for p in for_mailbox(POSTINGS, "interns")) == [
        "numenta-internship-program",
        "numenta-research-internship",
    ]


def test_nafta_citizen_eligible_for_research_internship():
    result = judge(
        "I am a Canadian citizen. I'd like the Research Internship for Winter 2017/2018.",
        subject="Research Internship",
    )
    assert (result.posting, result.status, codes(result)) == (
        "numenta-research-internship",
        "complete",
        [],
    )


def test_nafta_citizen_not_eligible_for_internship_program():
    result = judge(
        "I am a Mexican citizen. I'd like the Algorithms internship for Summer 2017.",
        subject="Internship Program (Algorithms)",
        received=date(2016, 11, 1),
    )
    assert (result.posting, result.status) == ("numenta-internship-program", "ineligible")
    ineligible = next(f for f in result.flags if f.code == "ineligible")
    assert "nafta_citizen" in ineligible.message
    assert ineligible.evidence == "I am a Mexican citizen."


def test_summer_2016_request_is_filled():
    result = judge(
        "I am a US citizen and want the Algorithms internship in Summer 2016.",
        subject="Internship Program",
        received=date(2016, 2, 10),
    )
    assert result.status == "closed"
    assert codes(result) == ["period_filled"]
    assert result.reply == "closed"


def test_summer_2017_before_applications_open():
    result = judge(
        "I am a US citizen and want the Algorithms internship in Summer 2017.",
        subject="Internship Program",
        received=date(2016, 6, 1),
    )
    flag = next(f for f in result.flags if f.code == "period_not_offered")
    assert "open on 2016-10-01" in flag.message
    assert (
        judge(
            "I am a US citizen and want the Algorithms internship in Summer 2017.",
            subject="Internship Program",
            received=date(2016, 10, 2),
        ).status
        == "complete"
    )


def test_period_not_offered():
    result = judge(
        "I am a US citizen. Research Internship, Summer 2019 please.", subject="Research Internship"
    )
    assert codes(result) == ["period_not_offered"]
    assert result.status == "needs_review"


def test_application_after_deadline():
    cambridge = for_mailbox(POSTINGS, "cambridge")
    raw = make_mail(
        "Dear team, I would like to apply for the Senior ML Engineer role.",
        subject="Senior Machine Learning Engineer",
    )
    extraction = extract(parse_message(raw))
    late = evaluate(extraction, cambridge, date(2024, 6, 14))
    assert (late.status, codes(late), late.reply) == ("closed", ["after_deadline"], "closed")
    on_time = evaluate(extraction, cambridge, date(2024, 6, 13))
    assert (on_time.status, on_time.reply) == ("complete", "apply_via_job_site")


def test_ambiguous_interns_message_is_flagged_not_guessed():
    # both postings' subject phrases, equally: a tie is never broken by a guess
    result = judge("I am a US citizen.", subject="Research Intern / Internship Program")
    assert result.posting is None and result.status == "needs_review"
    flag = result.flags[0]
    assert flag.code == "posting_ambiguous"
    assert "numenta-internship-program" in flag.message
    assert "numenta-research-internship" in flag.message


def test_an_application_naming_no_posting_of_its_mailbox_is_unmatched():
    result = judge(
        "I am applying for a full-time senior backend engineer position.", subject="Application"
    )
    assert (result.posting, result.status) == (None, "needs_review")
    assert [f.code for f in result.flags] == ["posting_unmatched"]
    assert result.route.scores == {
        "numenta-internship-program": 0,
        "numenta-research-internship": 0,
    }


@pytest.mark.parametrize(
    ("body", "subject", "posting"),
    [
        ("I want the Software Engineering internship.", "Internship", "numenta-internship-program"),
        ("My PhD is in computational neuroscience.", "Internship", "numenta-research-internship"),
        ("Hello.", "Research Internship application", "numenta-research-internship"),
        ("Hello.", "Internship Program application", "numenta-internship-program"),
        ("Available Fall-Winter 2016.", "Internship", "numenta-internship-program"),
        ("Available Winter 2017/2018.", "Internship", "numenta-research-internship"),
    ],
)
def test_routing_by_what_the_message_says(body, subject, posting):
    assert judge(body, subject=subject).posting == posting


def test_non_applications_have_no_posting():
    for headers in ({"Auto-Submitted": "auto-replied"}, {"List-Id": "<x.example.org>"}):
        raw = make_mail("Away.", subject="Internship application", headers=headers)
        result = decision_of(raw, "interns")
        assert result.kind in ("auto_reply", "bulk")
        assert (result.evaluation.posting, result.evaluation.status, result.flags) == (
            None,
            None,
            [],
        )


@pytest.mark.parametrize(
    ("body", "resume", "mailbox", "missing"),
    [
        ("My code: https://github.com/jd", False, "careers", ["missing_resume"]),
        ("", True, "careers", []),  # the resume links GitHub
        # an ambiguous message is not checked against either posting's requirements
        ("", True, "interns", ["posting_unmatched"]),
    ],
)
def test_missing_items(body, resume, mailbox, missing):
    result = judge(body, resume=resume, mailbox=mailbox, subject="Application")
    assert [c for c in codes(result) if c.startswith(("missing", "elig", "posting"))] == missing


def test_every_required_item_has_a_check():
    for item in (
        "cover_letter",
        "resume",
        "github",
        "internship_period",
        "internship_area",
        "coursework",
    ):
        assert f"missing_{item}" in CHECKS


def test_short_body_is_not_a_cover_letter_and_gitlab_counts_as_code():
    raw = make_mail(
        "Resume attached. https://gitlab.com/jd",
        subject="ML engineer",
        attachments=[("cv.pdf", "application/pdf", make_pdf(["Jane"]))],
    )
    result = evaluate(
        extract(parse_message(raw)), for_mailbox(POSTINGS, "careers"), date(2018, 1, 1)
    )
    assert codes(result) == ["missing_cover_letter"]
    assert result.status == "incomplete" and result.reply == "received_incomplete"


def test_unreadable_resume_and_sponsorship():
    raw = make_mail(
        LETTER + "I will need H-1B visa sponsorship. https://github.com/jd",
        subject="ML engineer",
        attachments=[("resume.pdf", "application/pdf", b"%PDF-1.4 broken")],
    )
    result = evaluate(
        extract(parse_message(raw)), for_mailbox(POSTINGS, "careers"), date(2018, 1, 1)
    )
    assert codes(result) == ["needs_sponsorship", "resume_unreadable"]
    assert result.status == "incomplete"  # incomplete outranks needs_review


def test_duplicate_application():
    from intake.decisions.checks import Prior

    earlier = (Prior(7, "numenta-ml-engineer", date(2017, 12, 1)),)
    result = judge("Code: https://github.com/jd", mailbox="careers", history=earlier)
    assert codes(result) == ["duplicate_application"]
    assert "#7" in result.flags[0].message
    other = (Prior(8, "numenta-research-internship", date(2017, 12, 1)),)
    assert judge("x", mailbox="careers", history=other).flags == ()


def test_outcomes_are_overridable_per_posting(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_DIR, rules)
    path = rules / "numenta-ml-engineer.toml"
    path.write_text(path.read_text() + '\n[outcomes]\nmissing_github = "needs_review"\n')
    raw = make_mail(
        LETTER,
        subject="ML engineer",
        attachments=[("cv.pdf", "application/pdf", make_pdf(["Jane"]))],
    )
    result = evaluate(
        extract(parse_message(raw)), for_mailbox(load_all(rules), "careers"), date(2018, 1, 1)
    )
    assert (codes(result), result.status) == (["missing_github"], "needs_review")


def test_new_posting_is_one_new_file(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_DIR, rules)
    (rules / "acme-data-intern.toml").write_text(
        'title = "Data Internship"\nmailbox = "interns"\n'
        'requires = ["resume", "internship_period"]\n'
        '[match]\nsubject = ["data intern"]\nbody = ["data engineering"]\n'
        '[eligibility]\naccepted = ["us_citizen"]\n'
        '[replies]\ncomplete = "received_complete"\n'
    )
    postings = load_all(rules)
    result = judge(
        "I am a US citizen, keen on data engineering, for Summer 2018.",
        subject="Data intern application",
        rules=postings,
    )
    assert (result.posting, result.status, result.reply) == (
        "acme-data-intern",
        "complete",
        "received_complete",
    )


def write(tmp_path: Path, text: str, name: str = "broken-posting.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = 'title = "X"\nmailbox = "interns"\n'


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('title = "X"\nmailbox = "interns\n', 2, "invalid TOML"),
        (BASE + 'requires = ["resume", "portfolio"]\n', 3, "requires.1: unknown value 'portfolio'"),
        (
            BASE + '[eligibility]\naccepted = ["us_citizen", "eu_citizen"]\n',
            4,
            "eligibility.accepted.1: unknown value 'eu_citizen'",
        ),
        (
            BASE + '[dates]\nopens = 2016-01-01\ndeadline = "2024-06-13"\n',
            5,
            "dates.deadline: must be a date written without quotes",
        ),
        (BASE + '[dates]\ndeadline = "soon"\n', 4, "dates.deadline: must be a date"),
        (BASE + "colour = 3\n", 3, "colour: unknown key"),
        ('title = "X"\n', 1, "mailbox: required key is missing"),
        (
            BASE + '[[dates.offered]]\nlabel = "a"\nstart = "2018-01"\nend = "2018-02"\n'
            '[[dates.offered]]\nlabel = "b"\nstart = "2018-13"\nend = "2018-12"\n',
            9,
            "dates.offered.1.start: String should match pattern",
        ),
        (
            BASE + '[[dates.offered]]\nlabel = "b"\nstart = "2018-05"\nend = "2018-02"\n',
            3,
            "period 'b' ends before it starts",
        ),
        (
            BASE + '[outcomes]\nmissing_portfolio = "closed"\n',
            4,
            "outcomes.missing_portfolio: unknown flag code",
        ),
        (BASE + '[outcomes]\nmissing_resume = "maybe"\n', 4, "outcomes.missing_resume"),
        (BASE + '[replies]\ncomplete = "Bad Name!"\n', 4, "replies.complete"),
        ('id = "other"\n' + BASE, 1, "id 'other' must be the file name 'broken-posting'"),
    ],
)
def test_broken_rules_file_names_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as info:
        load_posting(path)
    first = info.value.problems[0]
    assert first.startswith(f"{path}:{line}: "), first
    assert message in first


def test_rules_check_command(tmp_path):
    ok = CliRunner().invoke(cli, ["rules", "check", "--rules", str(DEFAULT_DIR)])
    assert ok.exit_code == 0 and "5 postings OK" in ok.output
    write(tmp_path, BASE + 'requires = ["portfolio"]\n')
    write(tmp_path, '[dates]\ndeadline = "2024-06-13"\n', "second.toml")
    bad = CliRunner().invoke(cli, ["rules", "check", "--rules", str(tmp_path)])
    assert bad.exit_code == 1
    lines = bad.output.strip().splitlines()
    assert any(f"{tmp_path}/broken-posting.toml:3: requires.0" in x for x in lines)
    assert any(f"{tmp_path}/second.toml:2: dates.deadline" in x for x in lines)
    assert any(f"{tmp_path}/second.toml:1: title" in x for x in lines)


def test_rules_explain_command():
    sample = Path(__file__).parent.parent / "data/sample/interns/05-zoe-muller.eml"
    result = CliRunner().invoke(
        cli, ["rules", "explain", str(sample), "--mailbox", "interns", "--rules", str(DEFAULT_DIR)]
    )
    assert result.exit_code == 0
    assert "posting: numenta-internship-program" in result.output
    assert "FIRED period: period_filled: Summer 2016 is filled" in result.output
    assert "ok    missing_resume" in result.output
    assert "status: closed" in result.output
    assert "reply: closed to applicant zoe.mueller@example.de" in result.output
