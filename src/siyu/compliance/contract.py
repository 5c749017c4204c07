"""The shared shapes of compliance detection: messages in, normalised text with offsets, findings out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from siyu.models.compliance import ComplianceCategory, Severity

# Keyword categories (rules in sensitive_rules); the others come from pattern, model and behaviour detectors.
KEYWORD_CATEGORIES = (
    ComplianceCategory.abuse,
    ComplianceCategory.private_deal,
    ComplianceCategory.diverted_order,
    ComplianceCategory.forbidden_promise,
    ComplianceCategory.competitor,
)


@dataclass(frozen=True, slots=True)
class MessageIn:
    """One message as the detectors see it (archive shape, already resolved to staff / customer / group)."""

    msgid: str
    sender: str
    msg_type: str  # text, image, redpacket, transfer, card, link, …
    text: str | None
    sent_at: datetime
    staff_id: int | None = None
    customer_id: int | None = None
    group_id: int | None = None
    from_staff: bool = False  # sent by the staff member (most rules only judge what staff say)
    payload: dict[str, object] | None = None  # the archive body of non-text types (link url, card, …)


@dataclass(frozen=True, slots=True)
class Normalised:
    """Normalised text and, for each of its characters, the offset of the original character it came from.

    origin has len(text) + 1 entries: origin[len(text)] is the original length, so the original span of
    normalised [i, j) is [origin[i], origin[j - 1] + 1).
    """

    text: str
    origin: Sequence[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) of the normalised [start, end) (end > start)."""
        return self.origin[start], self.origin[end - 1] + 1


# Not frozen: a frozen dataclass sets each of its 11 fields through object.__setattr__ (≈ 2.2 µs per
# finding against 0.3 µs), a measurable share of the detection budget. Treat it as immutable all the
# same (dataclasses.replace for a changed copy); unsafe_hash keeps it usable in sets, as before.
@dataclass(slots=True, unsafe_hash=True)
class Finding:
    """One detection: which message(s), what, how severe, and where in the ORIGINAL text."""

    msgid: str
    category: ComplianceCategory
    detector: str  # keyword | phone | bank_card | wechat_id | alipay | payment_msg | link | classifier | …
    severity: Severity
    start: int
    end: int
    matched: str  # what matched (normalised form), for the reviewer and for whitelisting
    rule_id: int | None = None
    rule_key: str = ""  # str(rule_id) for keyword rules, the detector's own key otherwise
    score: float | None = None  # model probability, when a model decided
    extra_msgids: tuple[str, ...] = field(default=())  # other messages of the same finding (split phone)


class Detector(Protocol):
    """Anything that turns a batch of messages into findings (batches let detectors look across messages)."""

    def detect(self, messages: Sequence[MessageIn]) -> list[Finding]:
        """Findings for the batch, in message order."""
        ...
