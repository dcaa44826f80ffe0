"""Bounces of our own replies: which address failed, so we never write to it again.

The failed recipients come from flufl.bounce (GNU Mailman's detectors: RFC 3464 DSNs and
the formats of common MTAs). An address is only marked when we actually wrote to it, so a
bounce of someone else's mail that lands in the mailbox cannot block an applicant.
"""

from __future__ import annotations

import email
import logging
import re
from email.policy import compat32

from flufl.bounce import scan_message
from sqlmodel import Session, col, or_, select

from intake.logs import event
from intake.storage import models

log = logging.getLogger(__name__)
# flufl.bounce logs a traceback when a detector chokes on a malformed report; we catch
# that and learn nothing from the report, which is the right outcome, so keep it quiet.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)
_OUR_ID = re.compile(rb"<intake\.[0-9a-f]{24}@[^<>\s]+>")


def failed_recipients(raw: bytes) -> set[str]:
    """Permanently failed recipients a delivery report names (lower-cased); pure."""
    try:
        found = scan_message(email.message_from_bytes(raw, policy=compat32))
    except Exception as exc:  # a detector choking on a malformed report: nothing learnt
        # no traceback: its values would quote the report, addresses and all
        event(log, "bounce_unreadable", logging.DEBUG, error=type(exc).__name__)
        return set()
    return {a.decode("utf-8", "replace").strip("<> ").lower() for a in found if b"@" in a}


def our_message_ids(raw: bytes) -> set[str]:
    """Message-IDs of our replies quoted in a bounce (the returned headers)."""
    return {m.decode("ascii", "replace") for m in _OUR_ID.findall(raw)}


def note(session: Session, raw: bytes) -> list[str]:
    """Mark the addresses one of our replies bounced from; returns them."""
    failed, ids = failed_recipients(raw), our_message_ids(raw)
    if not failed and not ids:
        return []
    match = [col(models.Outbox.to_address).in_(failed)] if failed else []
    if ids:
        match.append(col(models.Outbox.message_id).in_(ids))
    rows = list(
        session.exec(
            select(models.Outbox).where(
                or_(*match), col(models.Outbox.status).in_(("sent", "bounced"))
            )
        )
    )
    if failed:  # the report names the address: trust it over whatever the quoted id says
        rows = [r for r in rows if r.to_address in failed]
    marked = sorted({r.to_address for r in rows})
    for row in rows:
        row.status, row.reason = "bounced", "the recipient's server returned it"
        session.add(row)
    for address in marked:
        if session.get(models.BouncedAddress, address) is None:
            session.add(models.BouncedAddress(address=address, reason="a reply bounced"))
    if marked:
        event(log, "address_bounced", outbox=" ".join(str(r.id) for r in rows))
    return marked
