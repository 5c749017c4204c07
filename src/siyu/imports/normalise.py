"""Cell parsers: money to integer fen, times to aware UTC, numbers, flags and closed vocabularies.

Every parser takes the raw cell (str, or datetime/date from XLSX) and returns the value or raises
ValueError whose message is the reason shown in the import report.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from siyu.models import AcquisitionSource, OrderChannel, OrderStatus

MAX_FEN = 10**14  # a trillion yuan: anything above is a broken cell, not an order
_AMOUNT = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2})0*)?")  # 12.300 is 12.30
_TOO_PRECISE = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)\.\d{3,}")
_CURRENCY = ("¥", "￥", "rmb", "cny", "元")
_amount_memo: dict[str, int] = {}


def _fold(text: str) -> str:
    # Full-width digits and punctuation (１３８, ，) become ASCII; plain ASCII skips the work.
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def parse_amount_fen(raw: Any) -> int:
    """Yuan with at most 2 decimals ('1,234.50', '¥12.3', '12') to integer fen, parsed as text, never float."""
    found = _amount_memo.get(raw)
    if found is not None:
        return found
    if not isinstance(raw, str):
        raise ValueError("not an amount")
    text = _fold(raw).strip().lower()
    for mark in _CURRENCY:
        text = text.removeprefix(mark).removesuffix(mark).strip()
    if text.startswith(("-", "(", "−")):
        raise ValueError("negative amount")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        if _TOO_PRECISE.fullmatch(text):
            raise ValueError("more than 2 decimal places (amounts are in yuan, e.g. 12.30)")
        raise ValueError("not an amount (expected yuan such as 1,234.50)")
    whole, cents = match.groups()
    fen = int(whole.replace(",", "")) * 100 + (int(cents.ljust(2, "0")) if cents else 0)
    if fen >= MAX_FEN:
        raise ValueError("amount too large")
    if len(_amount_memo) < 1 << 18:  # prices repeat a lot; the cap bounds memory on odd files
        _amount_memo[raw] = fen
    return fen


def format_fen(fen: int) -> str:
    """Integer fen as yuan text with two decimals (123456 → '1234.56')."""
    return f"{fen // 100}.{fen % 100:02d}"


# --- times ----------------------------------------------------------------------------------------

_EXCEL_EPOCH = datetime(1899, 12, 30)
_LOOSE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ tT]+(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:[.,](\d{1,6}))?)?\s*秒?)?"
    r"\s*(z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
MIN_YEAR, MAX_YEAR = 1970, 2100


def _offset(text: str) -> tzinfo:
    from datetime import timezone

    if text.lower() == "z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _from_number(text: str) -> datetime:
    if text.isdigit() and len(text) == 13:
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    if text.isdigit() and len(text) == 10:
        return datetime.fromtimestamp(int(text), UTC)
    serial = float(text)
    if not 1 <= serial < 2958466:
        raise ValueError("number out of range for an Excel date")
    days = int(serial)
    seconds = round((serial - days) * 86400)
    return _EXCEL_EPOCH + timedelta(days=days, seconds=seconds)


def _parse_text_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)  # fast C path: 2024-03-01 10:00:00, ISO with offset, 20240301
    except ValueError:
        pass
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return _from_number(text)
    match = _LOOSE.fullmatch(text)
    if match is None:
        raise ValueError(
            "not a date-time (expected e.g. 2024-03-01 10:00:00, 2024/3/1 10:00 or an Excel date)"
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int(fraction.ljust(6, "0")) if fraction else 0
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
        )
    except ValueError as exc:
        raise ValueError(f"not a real date-time ({exc})") from exc
    return value.replace(tzinfo=_offset(offset)) if offset else value


def time_parser(zone: tzinfo) -> Callable[[Any], datetime]:
    """A parser to aware UTC datetimes; times without an offset are in zone (the brand's)."""
    offsets: dict[str, timedelta | None] = {}

    def parse(raw: Any) -> datetime:
        if raw.__class__ is str and len(raw) == 19 and raw[4] == "-" and raw[10] == " " and raw.isascii():
            # The common export shape 'YYYY-MM-DD HH:MM:SS': read as UTC by the C parser, then
            # shifted by the zone's offset for that hour, memoised (DST changes on the hour).
            hour = raw[:13]
            offset = offsets.get(hour, _UNKNOWN)
            if offset is _UNKNOWN:
                offset = offsets[hour] = _zone_offset(zone, hour)
            if offset is not None:
                try:
                    value = datetime.fromisoformat(raw + "+00:00") - offset
                except ValueError:
                    pass  # the general path below says what is wrong
                else:
                    if MIN_YEAR <= value.year <= MAX_YEAR:
                        return value
        if isinstance(raw, datetime):
            value = raw
        elif isinstance(raw, date):
            value = datetime(raw.year, raw.month, raw.day)
        else:
            value = _parse_text_time(_fold(raw).strip())
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValueError(f"year {value.year} is outside {MIN_YEAR}–{MAX_YEAR}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(UTC)

    return parse


_UNKNOWN: Any = object()


def _zone_offset(zone: tzinfo, hour: str) -> timedelta | None:
    try:
        local = datetime.fromisoformat(hour + ":00:00")
    except ValueError:
        return None  # not a real date: the general path reports it
    return local.replace(tzinfo=zone).utcoffset() or timedelta(0)


# --- numbers, flags, text -------------------------------------------------------------------------


def parse_count(raw: Any) -> int:
    """A whole number ≥ 0 ('3', '3.0', '1,200')."""
    text = _fold(str(raw)).strip().replace(",", "")
    try:
        number = float(text) if "." in text else int(text)
    except ValueError:
        raise ValueError("not a whole number") from None
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueError("not a whole number")
        number = int(number)
    if number < 0:
        raise ValueError("negative number")
    if number > 2**31 - 1:
        raise ValueError("number too large")
    return number


def parse_quantity(raw: Any) -> int:
    """A line quantity: a whole number ≥ 1."""
    number = parse_count(raw)
    if number < 1:
        raise ValueError("quantity must be at least 1")
    return number


_TRUE = {"1", "y", "yes", "true", "t", "是", "有", "同意", "已授权", "授权", "已订阅", "订阅", "√", "✓"}
_FALSE = {
    "0",
    "n",
    "no",
    "false",
    "f",
    "否",
    "无",
    "不同意",
    "未授权",
    "拒绝",
    "未订阅",
    "取消订阅",
    "×",
    "✗",
}


def parse_flag(raw: Any) -> bool:
    """Yes/no in English or Chinese."""
    text = _fold(str(raw)).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("not yes/no (是/否, yes/no, 1/0)")


def text_parser(max_length: int) -> Callable[[Any], str | None]:
    """Trimmed text no longer than max_length; blank becomes None."""

    def parse(raw: Any) -> str | None:
        text = (raw if isinstance(raw, str) else str(raw)).strip()
        if "\x00" in text:
            raise ValueError("contains a NUL character")
        if len(text) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        return text or None

    def column(values: Sequence[Any]) -> list[str | None] | None:
        # A whole column at once with C-level string methods; None sends it cell by cell.
        try:
            stripped = list(map(str.strip, values))
        except TypeError:
            return None
        if "\x00" in "".join(stripped) or max(map(len, stripped), default=0) > max_length:
            return None
        return [text or None for text in stripped]

    parse.column = column  # type: ignore[attr-defined]
    return parse


def _vocabulary(mapping: dict[str, str], what: str) -> Callable[[Any], str]:
    folded = {k.lower(): v for k, v in mapping.items()}
    choices = ", ".join(sorted(set(mapping.values())))

    def parse(raw: Any) -> str:
        key = _fold(str(raw)).strip().lower()
        found = folded.get(key)
        if found is None:
            raise ValueError(f"unknown {what} (one of: {choices}, or the Chinese labels)")
        return found

    return parse


parse_order_channel = _vocabulary(
    {
        **{c.value: c.value for c in OrderChannel},
        "小程序": "miniprogram",
        "微信小程序": "miniprogram",
        "mini_program": "miniprogram",
        "门店": "store",
        "线下": "store",
        "线下门店": "store",
        "电商": "ecommerce",
        "线上商城": "ecommerce",
        "e-commerce": "ecommerce",
        "直播": "live",
        "直播间": "live",
    },
    "channel",
)

parse_order_status = _vocabulary(
    {
        **{s.value: s.value for s in OrderStatus},
        "已支付": "paid",
        "已付款": "paid",
        "已完成": "paid",
        "交易成功": "paid",
        "完成": "paid",
        "已发货": "paid",
        "已退款": "refunded",
        "全额退款": "refunded",
        "退款成功": "refunded",
        "部分退款": "partially_refunded",
    },
    "status",
)

parse_source = _vocabulary(
    {
        **{s.value: s.value for s in AcquisitionSource},
        "电销": "telesales",
        "订单": "order",
        "广告": "ad",
        "投放": "ad",
        "门店": "store",
        "转介绍": "referral",
        "推荐": "referral",
        "老带新": "referral",
        "自然": "organic",
        "自然流量": "organic",
        "截流": "intercept",
    },
    "source",
)

parse_gender = _vocabulary(
    {
        "male": "male",
        "m": "male",
        "男": "male",
        "female": "female",
        "f": "female",
        "女": "female",
        "未知": "unknown",
        "unknown": "unknown",
    },
    "gender",
)

DEFAULT_TAG_GROUP = "导入"
_TAG_ITEMS = re.compile(r"[;,，；、|\n]+")


def parse_tags(raw: Any) -> tuple[tuple[str, str], ...]:
    """'group:tag;group:tag' or 'a,b' into (group, tag) pairs; tags without a group go to 导入."""
    pairs: list[tuple[str, str]] = []
    for item in _TAG_ITEMS.split(str(raw)):
        item = item.strip()
        if not item:
            continue
        group, sep, name = item.replace("：", ":").partition(":")
        group, name = (group.strip(), name.strip()) if sep else (DEFAULT_TAG_GROUP, group.strip())
        if not group or not name:
            raise ValueError(f"tag {item!r} is not 'group:tag'")
        if len(group) > 64 or len(name) > 64:
            raise ValueError(f"tag {item!r} longer than 64 characters")
        if (group, name) not in pairs:
            pairs.append((group, name))
    return tuple(pairs)
