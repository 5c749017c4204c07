"""Who may see what of the compliance data, the incident scope filter, and how chat text is shown (highlight, masks)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, true

from siyu.compliance.normalise_data import CHINESE_DIGITS
from siyu.models.compliance import ComplianceCategory, SensitiveIncident
from siyu.org.permissions import Actor, DataScope, PermissionRole
from siyu.org.repository import scope_unit_ids
from siyu.privacy import mask_phone
from siyu.web.access import access_for
from siyu.web.i18n import N_

_ADMIN = PermissionRole.admin
_LEAD = PermissionRole.private_domain_lead
_MANAGER = PermissionRole.manager
_OPERATOR = PermissionRole.operator
_ANALYST = PermissionRole.analyst

# Chat text is personal data: only the brand's head, the lead and managers (within their own scope) read it.
CHAT_READ_ROLES = frozenset({_ADMIN, _LEAD, _MANAGER})
# Counts, categories and trend: also operators and analysts (no text, no matched phrase).
SUMMARY = access_for((_ADMIN, _LEAD, _MANAGER, _OPERATOR, _ANALYST))
# Incident rows (who, when, which rule, status) without text: operators too; analysts see aggregates only.
ROWS = access_for(
    (_ADMIN, _LEAD, _MANAGER, _OPERATOR),
    denied=N_("Your role sees compliance counts only, not single incidents."),
)
REVIEW = access_for(
    (_ADMIN, _LEAD, _MANAGER), denied=N_("Only managers and the private-domain lead review incidents.")
)
# Reopening overrules a reviewer's decision: the lead's call.
REOPEN = access_for(
    (_ADMIN, _LEAD), denied=N_("Only an administrator or the private-domain lead may reopen an incident.")
)
RULES_READ = SUMMARY
RULES_EDIT = access_for(
    (_ADMIN, _LEAD), denied=N_("Only an administrator or the private-domain lead may edit compliance rules.")
)
RUNS = RULES_EDIT

# The tab bar of the compliance pages: (key, label msgid, path, access).
TABS = (
    ("incidents", N_("Incidents"), "/compliance", SUMMARY),
    ("rules", N_("Rules"), "/compliance/rules", RULES_READ),
    ("runs", N_("Re-detection"), "/compliance/runs", RUNS),
)


def may_read_chat(actor: Actor) -> bool:
    """Whether actor may read message text (and the matched phrase) of incidents in their scope."""
    return actor.role in CHAT_READ_ROLES


def readable_incidents(actor: Actor) -> ColumnElement[bool]:
    """Filter on SensitiveIncident: all → every one; subtree/unit → the unit recorded on it; self → own."""
    if actor.scope is DataScope.all:
        return true()
    units = scope_unit_ids(actor)
    if units is not None:
        return SensitiveIncident.unit_id.in_(units)
    if actor.scope is DataScope.self_ and actor.staff_id is not None:
        return SensitiveIncident.staff_id == actor.staff_id
    # A scope missing the unit or staff it needs sees nothing rather than everything.
    return false()


# --- showing chat text ---------------------------------------------------------------------------

# Digits in the forms people use to dodge filters: ASCII, full-width, circled, and the Chinese forms the
# normaliser's digits view reads (one table for both, so masking and detection agree).
_DIGITS = {
    **{c: str(i) for i, c in enumerate("0123456789")},
    **{c: str(i) for i, c in enumerate("０１２３４５６７８９")},
    **{c: str(i + 1) for i, c in enumerate("①②③④⑤⑥⑦⑧⑨")},
    **CHINESE_DIGITS,
}
_D = "[" + re.escape("".join(_DIGITS)) + "]"
_SEP = r"[\s\-.·_/,，、]*"
# Eleven digits in any form, separators between them allowed, not inside a longer digit run.
_MOBILE = re.compile(rf"(?<![0-9０-９]){_D}(?:{_SEP}{_D}){{10}}(?![0-9０-９])")
_DIGIT_RUN = re.compile(rf"{_D}(?:{_SEP}{_D}){{2,}}")
# Detectors whose span is a number or an account: masked like a phone unless the viewer reveals.
MASKED_DETECTORS = frozenset({"phone", "phone_split", "bank_card", "wechat_id", "alipay"})


@dataclass(frozen=True)
class Segment:
    """A piece of a message as shown: text (already masked when needed) and whether it is the matched span."""

    text: str
    hit: bool


def _mask_digits(source: str, chars: list[str], start: int, end: int) -> None:
    # Same rule as privacy.mask_phone (first 3 and last 4 digits kept), applied in place so offsets stay valid.
    positions = [i for i in range(start, end) if source[i] in _DIGITS]
    digits = "".join(_DIGITS[source[i]] for i in positions)
    masked = mask_phone(digits) or ""
    masked = masked[-len(digits) :] if len(masked) >= len(digits) else "*" * len(digits)
    for i, shown in zip(positions, masked, strict=True):
        if shown == "*":
            chars[i] = "*"


def _mask_all(chars: list[str], start: int, end: int) -> None:
    # An account (WeChat id, Alipay) has no digit rule: keep the first and last character.
    for i in range(start + 1, max(end - 1, start + 1)):
        if not chars[i].isspace():
            chars[i] = "*"


def masked_text(text: str, spans: Iterable[tuple[int, int, str]] = (), *, digit_runs: bool = False) -> str:
    """text with mobile numbers (any digit form) and the given (start, end, detector) spans masked; same length."""
    chars = list(text)
    for m in _MOBILE.finditer(text):
        digits = "".join(_DIGITS[c] for c in m.group() if c in _DIGITS)
        if digits.startswith("1"):
            _mask_digits(text, chars, m.start(), m.end())
    if digit_runs:
        # Part of a number split over two messages: each part alone is not eleven digits long.
        for m in _DIGIT_RUN.finditer(text):
            _mask_digits(text, chars, m.start(), m.end())
    for start, end, detector in spans:
        start, end = max(start, 0), min(end, len(text))
        if start >= end:
            continue
        if any(c in _DIGITS for c in text[start:end]):
            _mask_digits(text, chars, start, end)
        elif detector in MASKED_DETECTORS:
            _mask_all(chars, start, end)
    return "".join(chars)


def segments(text: str, spans: Sequence[tuple[int, int]]) -> list[Segment]:
    """text split into plain and matched pieces by [start, end) spans of the ORIGINAL text (overlaps merged)."""
    merged: list[list[int]] = []
    for start, end in sorted((max(s, 0), min(e, len(text))) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[Segment] = []
    at = 0
    for start, end in merged:
        if start > at:
            pieces.append(Segment(text[at:start], False))
        pieces.append(Segment(text[start:end], True))
        at = end
    if at < len(text) or not pieces:
        pieces.append(Segment(text[at:], False))
    return pieces


def shown_segments(
    text: str | None,
    hits: Sequence[tuple[int, int, str, ComplianceCategory]],
    *,
    reveal: bool,
    split_number: bool = False,
) -> list[Segment]:
    """The message as a viewer sees it: matched spans highlighted; phones and contact spans masked unless revealed."""
    if not text:
        return []
    shown = text
    if not reveal:
        masked = [
            (s, e, d) for s, e, d, c in hits if c in (ComplianceCategory.contact, ComplianceCategory.payment)
        ]
        shown = masked_text(text, masked, digit_runs=split_number)
    return segments(shown, [(s, e) for s, e, _, _ in hits])
