"""Loop safety: to whom a reply that is due must not go, and why. Pure.

RFC 3834 section 2: a responder must not answer robots, lists or itself, and must limit
how often it writes to one address; an address a reply bounced from is not written to again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ROBOT = re.compile(
    r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?|notifications?|"
    r"auto-?reply|daemon)([+._-].*)?@",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReplyPolicy:
    """Loop safety knobs (config `[replies]`)."""

    max_per_sender: int = 3
    window_hours: float = 24.0


def why_not(
    to: str,
    own_addresses: frozenset[str],
    bouncing: bool,
    recent_replies: int,
    policy: ReplyPolicy,
) -> str | None:
    """Why a reply that is due must not go to `to` (loop safety), or None: never to
    robots, ourselves, an address that bounced, or one we wrote to too often."""
    if not to:
        return "no sender address"
    if not to.isascii():
        return f"address {to!r} is not ASCII (it would need SMTPUTF8)"
    if _ROBOT.match(to):
        return f"automatic address {to}"
    if to.lower() in own_addresses:
        return f"our own address {to}"
    if bouncing:
        return f"{to} bounced an earlier reply"
    if recent_replies >= policy.max_per_sender:
        return f"rate limit: {recent_replies} replies to {to} in {policy.window_hours:g} h"
    return None


# Templates chosen by intake itself, not by a rules file: the neutral reply to an
# application no posting fits, and the thanks to whoever referred a candidate.
BUILT_IN = ("received_unrouted", "referral_thanks")
