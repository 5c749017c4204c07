"""Number patterns over a batch's digits views: mobile numbers (also split over messages) and bank cards.

Digit runs are found with NumPy over the whole batch (the digits views' code points), and the digits views'
origin comes vectorised from the same pass, so Python only looks at runs that can matter: 11+ digits, or a
short run at the start or end of a message (a part of a split number). A gap in the origin inside a run marks a
separator the sender typed ("138 1234 5678" → 138|1234|5678); candidate numbers are made of whole groups, so a
phone next to a date or another number is found while a phone-like slice of a longer number is not.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from siyu.compliance.contract import MessageIn
from siyu.compliance.normalise import digits_batch

_PHONE_RE = re.compile(r"(?:0086|86)?(1[3-9][0-9]{9})")
# An order / waybill / coupon number: the cue sits right before the digits (within a few characters).
_ORDER_CUE_RE = re.compile(
    r"(?:订单|单号|运单|快递|物流|编号|工单|流水|货号|批号|序列号|券码|卡密|验证码|sn)[^\x01]{0,6}$"
)
_BANK_CUE_RE = re.compile(
    r"卡号|银行|[工建招农中交]行|储蓄卡|借记卡|信用卡|转账|转到|打到|汇到|汇款|打款|收款|账号|帐号|开户|户名|邮储"
)
_IN_URL_RE = re.compile(r"(?:https?://|www\.)[!-~]*$", re.I)
_HEAD_LEAD_IN = 6  # characters allowed before the digits that continue a split number


class Hit(NamedTuple):
    """A detector hit before severity is decided: message index, detector, original span, matched, extras."""

    msg: int
    detector: str
    start: int
    end: int
    matched: str
    extra: tuple[int, ...] = ()


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum that bank card numbers carry."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _combos(cuts: list[int], lengths: range) -> Iterable[tuple[int, int]]:
    """Consecutive whole groups (between cuts) whose digits add up to a length in `lengths`."""
    for i in range(len(cuts) - 1):
        for j in range(i + 1, len(cuts)):
            size = cuts[j] - cuts[i]
            if size > lengths[-1]:
                break
            if size in lengths:
                yield cuts[i], cuts[j]


def _card_like(cuts: list[int], digits: str) -> bool:
    """Written like a card (16-19 digits passing Luhn, in groups of four) even without a cue: not a phone."""
    sizes = [b - a for a, b in itertools.pairwise(cuts)]
    return 16 <= len(digits) <= 19 and len(sizes) >= 4 and all(x == 4 for x in sizes[:-1]) and luhn_ok(digits)


def conversation_key(m: MessageIn) -> object:
    """Group chat, else the staff-customer pair, else (unresolved) the sender."""
    if m.group_id is not None:
        return ("g", m.group_id)
    if m.staff_id is None and m.customer_id is None:
        return ("s", m.sender)
    return ("p", m.staff_id, m.customer_id)


@dataclass(frozen=True, slots=True)
class NumberOptions:
    """What the number scan looks for."""

    phones: bool = True
    split: bool = True
    cards: bool = True
    allowed_numbers: frozenset[str] = frozenset()
    cue_window: int = 16
    split_gap: timedelta = timedelta(seconds=120)


def scan_numbers(
    messages: Sequence[MessageIn],
    texts: Sequence[str],
    opts: NumberOptions,
    batch: tuple[str, npt.NDArray[np.uint32], npt.NDArray[np.intp]] | None = None,
    text_starts: Sequence[int] | None = None,
) -> list[Hit]:
    """Phone (phone, phone_split) and bank card (bank_card) hits for a non-empty batch.

    batch: digits_batch(texts) when the caller already has it (the engine's shared views); text_starts:
    where each text starts in SEP.join(texts), plus one more (BatchViews.ostarts).
    """
    digits, codes, pos = batch if batch is not None else digits_batch(texts)
    n = len(codes)
    is_digit = ((codes >= 48) & (codes <= 57)).astype(np.int8)
    edges = np.diff(is_digit, prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    if not len(starts):
        return []
    ends = np.flatnonzero(edges == -1)
    lengths = ends - starts
    seps = np.flatnonzero(codes == 1)
    owner = np.searchsorted(seps, starts)
    part_starts = np.concatenate(([-1], seps))[owner] + 1
    first_run = np.concatenate(([True], owner[1:] != owner[:-1]))
    # a continuation may follow a short lead-in ("后几位 5678", "后面是5678")
    at_head = first_run & (starts - part_starts <= _HEAD_LEAD_IN)
    at_tail = (ends == n) | (codes[np.minimum(ends, n - 1)] == 1)
    wanted = np.flatnonzero((lengths >= 11) | ((lengths >= 3) & (at_head | at_tail)))
    if not len(wanted):
        return []
    owners = owner[wanted].tolist()
    ostarts = (
        text_starts if text_starts is not None else [0, *itertools.accumulate(len(t) + 1 for t in texts)]
    )
    hits: list[Hit] = []
    heads: dict[int, tuple[int, int]] = {}
    tails: dict[int, tuple[int, int]] = {}
    for k, index in zip(wanted.tolist(), owners, strict=True):
        s, e = int(starts[k]), int(ends[k])
        part_start = 0 if index == 0 else int(seps[index - 1]) + 1
        if _ORDER_CUE_RE.search(digits, max(part_start, s - 12), s):
            continue  # an order / waybill / coupon number, whole or in parts
        if _IN_URL_RE.search(texts[index], 0, int(pos[s]) - ostarts[index]):
            continue  # an id inside a link (item.htm?id=13812345678) is the link detector's business
        if e - s < 11:
            if at_head[k]:
                heads[index] = (s, e)
            if at_tail[k]:
                tails[index] = (s, e)
            continue
        cuts = [s, *(s + 1 + int(j) for j in np.flatnonzero(np.diff(pos[s:e]) > 1)), e]
        ostart = ostarts[index]
        card_found = False
        if opts.cards:
            for a, b in _combos(cuts, range(16, 20)):
                number = digits[a:b]
                if luhn_ok(number) and _bank_cue(digits, part_start, a, b, opts.cue_window):
                    hits.append(
                        Hit(index, "bank_card", int(pos[a]) - ostart, int(pos[b - 1]) + 1 - ostart, number)
                    )
                    card_found = True
                    break
        if card_found or not opts.phones or _card_like(cuts, digits[s:e]):
            continue
        taken: list[tuple[int, int]] = []
        # longest first, so "+86 138 1234 5678" is one finding with its prefix, not two
        for a, b in sorted(_combos(cuts, range(11, 16)), key=lambda ab: ab[0] - ab[1]):
            phone = _PHONE_RE.fullmatch(digits, a, b)
            if (
                phone is None
                or phone.group(1) in opts.allowed_numbers
                or any(a < y and x < b for x, y in taken)
            ):
                continue
            taken.append((a, b))
            start = int(pos[a]) - ostart
            if start > 0 and texts[index][start - 1] in "+＋":
                start -= 1
            hits.append(Hit(index, "phone", start, int(pos[b - 1]) + 1 - ostart, phone.group(1)))
    if opts.split and tails and heads:
        hits += _split_phones(messages, digits, pos, ostarts, tails, heads, opts)
    return hits


def _bank_cue(digits: str, part_start: int, start: int, end: int, window: int) -> bool:
    """A bank cue within `window` characters before or after the number, inside its own message."""
    part_end = digits.find("\x01", end)
    part_end = len(digits) if part_end < 0 else part_end
    return bool(
        _BANK_CUE_RE.search(digits, max(part_start, start - window), start)
        or _BANK_CUE_RE.search(digits, end, min(part_end, end + window))
    )


def _split_phones(
    messages: Sequence[MessageIn],
    digits: str,
    pos: np.ndarray,
    ostarts: Sequence[int],
    tails: dict[int, tuple[int, int]],
    heads: dict[int, tuple[int, int]],
    opts: NumberOptions,
) -> list[Hit]:
    """A number typed over two or three consecutive messages of one sender in one conversation."""
    tail_senders = {messages[i].sender for i in tails}
    if not any(messages[j].sender in tail_senders for j in heads):
        return []
    order = sorted(range(len(messages)), key=lambda i: messages[i].sent_at)
    following: dict[int, int] = {}  # message → the next message of its conversation
    last: dict[object, int] = {}
    for i in order:
        key = conversation_key(messages[i])
        if key in last:
            following[last[key]] = i
        last[key] = i
    hits: list[Hit] = []
    for first, (s, e) in tails.items():
        prev = messages[first]
        number = digits[s:e]
        chain: list[int] = []
        j = following.get(first)
        while j is not None and len(chain) < 2:
            m = messages[j]
            if m.sender != prev.sender or m.sent_at - prev.sent_at > opts.split_gap or j not in heads:
                break
            hs, he = heads[j]
            number += digits[hs:he]
            chain.append(j)
            if len(number) >= 11 or tails.get(j) != (hs, he):  # a middle message holds only this run
                break
            prev = m
            j = following.get(j)
        phone = _PHONE_RE.fullmatch(number)
        if not chain or phone is None or phone.group(1) in opts.allowed_numbers:
            continue
        ostart = ostarts[first]
        hits.append(
            Hit(
                first,
                "phone_split",
                int(pos[s]) - ostart,
                int(pos[e - 1]) + 1 - ostart,
                phone.group(1),
                tuple(chain),
            )
        )
    return hits
