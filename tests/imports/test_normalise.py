"""Cell parsers: money is exact integer fen, times are aware UTC cut in the brand's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.imports.normalise import (
    format_fen,
    parse_amount_fen,
    parse_count,
    parse_flag,
    parse_order_channel,
    parse_order_status,
    parse_tags,
    time_parser,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
parse_time = time_parser(SHANGHAI)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12", 1200),
        ("12.3", 1230),
        ("12.30", 1230),
        ("0.01", 1),
        ("0", 0),
        ("1,234.50", 123450),
        ("1,234,567.89", 123456789),
        ("¥12.3", 1230),
        ("￥ 99.90", 9990),
        ("12元", 1200),
        (" 7.05 ", 705),
        ("１２．５", 1250),
        ("RMB 3", 300),
        ("19.99", 1999),  # float(19.99) * 100 is 1998.9999999999998
        ("0.29", 29),
    ],
)
def test_amounts_are_exact_fen(text: str, fen: int) -> None:
    assert parse_amount_fen(text) == fen


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("12.345", "more than 2 decimal places"),
        ("abc", "not an amount"),
        ("-5", "negative"),
        ("-0.01", "negative"),
        ("(5.00)", "negative"),
        ("1,23.00", "not an amount"),
        ("12.", "not an amount"),
        ("", "not an amount"),
        ("1e3", "not an amount"),
        ("99999999999999", "too large"),
    ],
)
def test_bad_amounts_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_amount_fen(text)


def _grouped(yuan: int) -> str:
    return f"{yuan:,}"


@given(
    fen=st.integers(min_value=0, max_value=10**12),
    grouping=st.booleans(),
    symbol=st.sampled_from(["", "¥", "￥", "RMB "]),
    decimals=st.sampled_from([None, 1, 2]),
)
def test_amount_round_trip(fen: int, grouping: bool, symbol: str, decimals: int | None) -> None:
    yuan, cents = divmod(fen, 100)
    if decimals is None and cents:
        decimals = 2
    if decimals == 1 and cents % 10:
        decimals = 2
    whole = _grouped(yuan) if grouping else str(yuan)
    text = f"{symbol}{whole}" if decimals is None else f"{symbol}{whole}.{f'{cents:02d}'[:decimals]}"
    assert parse_amount_fen(text) == fen
    assert parse_amount_fen(format_fen(fen)) == fen


@given(st.text(max_size=20))
def test_amount_parser_never_crashes(text: str) -> None:
    try:
        fen = parse_amount_fen(text)
    except ValueError:
        return
    assert isinstance(fen, int) and fen >= 0


@given(st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False))
def test_three_decimals_only_when_the_last_is_zero(value: object) -> None:
    text = f"{value:.3f}"
    if text.endswith("0"):
        assert parse_amount_fen(text) == parse_amount_fen(text[:-1])
    else:
        with pytest.raises(ValueError, match="more than 2 decimal places"):
            parse_amount_fen(text)


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2024-03-01 10:00:00", datetime(2024, 3, 1, 2, 0, tzinfo=UTC)),
        ("2024-03-01 10:00", datetime(2024, 3, 1, 2, 0, tzinfo=UTC)),
        ("2024/3/1 10:00", datetime(2024, 3, 1, 2, 0, tzinfo=UTC)),
        ("2024/03/01 10:00:30", datetime(2024, 3, 1, 2, 0, 30, tzinfo=UTC)),
        ("2024-3-1", datetime(2024, 2, 29, 16, 0, tzinfo=UTC)),
        ("2024年3月1日 10:00", datetime(2024, 3, 1, 2, 0, tzinfo=UTC)),
        ("2024-03-01T10:00:00+08:00", datetime(2024, 3, 1, 2, 0, tzinfo=UTC)),
        ("2024-03-01T02:00:00Z", datetime(2024, 3, 1, 2, 0, tzinfo=UTC)),
        ("2024-03-01 10:00:00 +0900", datetime(2024, 3, 1, 1, 0, tzinfo=UTC)),
        ("2024-03-01 10:00:00.250", datetime(2024, 3, 1, 2, 0, 0, 250000, tzinfo=UTC)),
        ("45352.5", datetime(2024, 3, 1, 4, 0, tzinfo=UTC)),  # Excel serial: 2024-03-01 12:00 local
        ("45123.5", datetime(2023, 7, 16, 4, 0, tzinfo=UTC)),  # 2023-07-16 12:00 local
        ("1709280000000", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),  # ms epoch (chat archive)
        ("1709280000", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
        ("20240301", datetime(2024, 2, 29, 16, 0, tzinfo=UTC)),
    ],
)
def test_time_formats(text: str, utc: datetime) -> None:
    assert parse_time(text) == utc
    assert parse_time(text).tzinfo == UTC


def test_excel_cells_and_dates() -> None:
    assert parse_time(datetime(2024, 3, 1, 10, 0)) == datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
    assert parse_time(date(2024, 3, 1)) == datetime(2024, 2, 29, 16, 0, tzinfo=UTC)


def test_day_cut_in_the_brand_zone() -> None:
    # 23:30 on March 1st in Shanghai is 15:30 UTC the same day; it counts on March 1st local.
    value = parse_time("2024-03-01 23:30:00")
    assert value == datetime(2024, 3, 1, 15, 30, tzinfo=UTC)
    assert value.astimezone(SHANGHAI).date() == date(2024, 3, 1)
    # 00:30 local on March 2nd is still March 1st in UTC, but March 2nd for the brand.
    late = parse_time("2024-03-02 00:30:00")
    assert late.date() == date(2024, 3, 1)
    assert late.astimezone(SHANGHAI).date() == date(2024, 3, 2)


def test_other_zones_follow_daylight_saving() -> None:
    ny = time_parser(ZoneInfo("America/New_York"))
    assert ny("2024-01-15 12:00") == datetime(2024, 1, 15, 17, 0, tzinfo=UTC)
    assert ny("2024-07-15 12:00") == datetime(2024, 7, 15, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("yesterday", "not a date-time"),
        ("2024-02-30 10:00", "not a real date-time"),
        ("2024-13-01", "not a real date-time"),
        ("1899-01-01", "outside"),
        ("3000000", "out of range"),
        ("", "not a date-time"),
    ],
)
def test_bad_times_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_time(text)


@given(st.text(max_size=30))
def test_time_parser_never_crashes(text: str) -> None:
    try:
        value = parse_time(text)
    except ValueError:
        return
    assert value.tzinfo == UTC


def test_small_vocabularies() -> None:
    assert parse_order_channel("小程序") == "miniprogram"
    assert parse_order_channel("门店") == "store"
    assert parse_order_channel("电商") == "ecommerce"
    assert parse_order_channel("直播") == "live"
    assert parse_order_channel("LIVE") == "live"
    with pytest.raises(ValueError, match="unknown channel"):
        parse_order_channel("抖音小店")
    assert parse_order_status("已退款") == "refunded"
    assert parse_order_status("部分退款") == "partially_refunded"
    assert parse_flag("是") is True and parse_flag("no") is False
    with pytest.raises(ValueError):
        parse_flag("maybe")
    assert parse_count("1,200") == 1200 and parse_count("3.0") == 3
    with pytest.raises(ValueError):
        parse_count("2.5")


def test_tags() -> None:
    assert parse_tags("肤质:干性;VIP") == (("肤质", "干性"), ("导入", "VIP"))
    assert parse_tags("a,b，c") == (("导入", "a"), ("导入", "b"), ("导入", "c"))
    assert parse_tags("兴趣：美妆") == (("兴趣", "美妆"),)
    with pytest.raises(ValueError):
        parse_tags(":x")
