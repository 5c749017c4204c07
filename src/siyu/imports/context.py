"""What every importer shares: options, the run context, row reading and reference look-ups."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from itertools import islice
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.db.bulk import datetime_adapter
from siyu.db.types import utcnow
from siyu.imports.mapping import ColumnMap
from siyu.imports.report import ErrorReport, ImportOutcome
from siyu.models import OrgUnit, OrgUnitKind, Staff

Parser = Callable[[Any], Any]
Progress = Callable[[str, int, int | None], None]
IN_CHUNK = 500


def _no_progress(_phase: str, _done: int, _total: int | None) -> None:
    return None


@dataclass
class ImportOptions:
    """How to run an import (the CLI flags and API form fields)."""

    mapping: dict[str, str] = field(default_factory=dict)
    skip_invalid: bool = False
    ignore_unknown: bool = False
    account_id: int | None = None
    order_source: str = "import"
    zone: tzinfo | None = None
    region: str | None = None


@dataclass
class Context:
    """One import run: the session, options and the outcome being filled in."""

    session: Session
    options: ImportOptions
    outcome: ImportOutcome
    progress: Progress = _no_progress
    now: datetime = field(default_factory=utcnow)
    zone: tzinfo = field(init=False)
    region: str = field(init=False)
    to_db: Callable[[datetime | None], Any] = field(init=False)

    def __post_init__(self) -> None:
        settings = get_settings()
        self.zone = self.options.zone or settings.zone
        self.region = self.options.region or settings.default_country
        self.to_db = datetime_adapter(self.session)

    @property
    def report(self) -> ErrorReport:
        """The error report of this run."""
        return self.outcome.report


def table_of(model: type[Any]) -> Table:
    """The Core table behind an ORM model."""
    return cast(Table, model.__table__)


class _Bad:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _safe(parse: Parser, raw: Any) -> Any:
    if raw is None or raw == "" or (raw.__class__ is str and raw.isspace()):
        return None
    try:
        return parse(raw)
    except ValueError as exc:
        return _Bad(str(exc))


@dataclass
class Batch:
    """Parsed rows in columns: file line numbers, one value list per field, indexes of bad rows."""

    lines: list[int]
    columns: list[Sequence[Any]]
    bad: set[int]

    def rows(self, start: int = 0, end: int | None = None) -> Iterator[tuple[Any, ...]]:
        """Value tuples of the fields start..end (all fields by default), row by row."""
        return zip(*self.columns[start:end], strict=True)


def _parse_distinct(parse: Parser, values: set[Any]) -> dict[Any, Any]:
    values.discard("")
    try:
        # Fast path: one C-level map over the distinct values; any bad value falls back below.
        memo = dict(zip(values, map(parse, values), strict=True))
    except ValueError:
        memo = {value: _safe(parse, value) for value in values}
    memo[""] = None
    return memo


_MEMO_CAP = 1 << 20


class BatchReader:
    """Parse rows a batch at a time, column by column: each distinct value of a column is parsed once.

    Files repeat values heavily (stores, products, prices, the lines of one order), and mapping a
    column through a dict runs in C, so this is several times faster than parsing cell by cell.
    """

    def __init__(
        self,
        fields: Sequence[str],
        columns: ColumnMap,
        parsers: Mapping[str, Parser],
        report: ErrorReport,
        batch_size: int = 16384,
        repeating: Iterable[str] = (),
    ) -> None:
        self.report = report
        # Columns whose values recur across the file (people, stores, products, prices) keep their
        # parsed values from batch to batch; one-off columns (order numbers, times) do not.
        self.memos: dict[int, dict[Any, Any]] = {fields.index(name): {"": None} for name in repeating}
        self.bad_memos: set[int] = set()  # memos holding a bad value: their columns are scanned
        self.width = len(fields)
        self.header_width = len(columns.headers)
        self.batch_size = batch_size
        self.plan = [
            (fields.index(name), index, parsers[name], columns.headers[index])
            for name, index in columns.fields.items()
        ]
        self.blank_columns = [i for i, h in enumerate(columns.headers) if not h.strip()]

    def batches(self, rows: Iterator[tuple[int, list[Any]]]) -> Iterator[Batch]:
        """Yield the parsed batches of rows; bad cells are reported and their rows listed in bad."""
        while True:
            chunk = list(islice(rows, self.batch_size))
            if not chunk:
                return
            yield self._parse(chunk)

    def _parse(self, chunk: list[tuple[int, list[Any]]]) -> Batch:
        report, width = self.report, self.header_width
        lines = list(map(itemgetter(0), chunk))
        grid = list(map(itemgetter(1), chunk))
        bad: set[int] = set()
        ragged = set(map(len, grid)) != {width}
        for i, cells in enumerate(grid if ragged else ()):
            if len(cells) != width:
                if len(cells) > width and any(_filled(c) for c in cells[width:]):
                    report.add(lines[i], None, None, f"row has {len(cells)} cells but the header has {width}")
                    bad.add(i)
                grid[i] = (cells + [""] * width)[:width]
        columns = list(zip(*grid, strict=True))
        for index in self.blank_columns:
            for i, cell in enumerate(columns[index]):
                if _filled(cell):
                    report.add(lines[i], f"(column {index + 1})", cell, "value in a column without a header")
                    bad.add(i)
        out: list[Sequence[Any]] = [[None] * len(grid)] * self.width  # shared, never mutated
        for slot, index, parse, header in self.plan:
            column = columns[index]
            memo = self.memos.get(slot)
            whole = getattr(parse, "column", None) if memo is None else None
            quick = whole(column) if whole is not None else None
            if quick is not None:
                parsed, has_bad = quick, False
            elif memo is None:
                memo = _parse_distinct(parse, set(column))
                parsed = list(map(memo.__getitem__, column))
                has_bad = any(v.__class__ is _Bad for v in memo.values())
            else:
                try:  # once a column's values are known (stores, products…) this is the only pass
                    parsed = list(map(memo.__getitem__, column))
                except KeyError:
                    if len(memo) > _MEMO_CAP:
                        memo.clear()
                        memo[""] = None
                    fresh = _parse_distinct(parse, set(column).difference(memo))
                    if any(v.__class__ is _Bad for v in fresh.values()):
                        self.bad_memos.add(slot)
                    memo.update(fresh)
                    parsed = list(map(memo.__getitem__, column))
                has_bad = slot in self.bad_memos
            if has_bad:
                for i, result in enumerate(parsed):
                    if result.__class__ is _Bad:
                        report.add(lines[i], header, column[i], result.reason)
                        parsed[i] = None
                        bad.add(i)
            out[slot] = parsed
        return Batch(lines=lines, columns=out, bad=bad)


def _filled(cell: Any) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    """Slices of values of at most size items, for IN-lists."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def stores_by_code(session: Session, codes: Iterable[str]) -> dict[str, int | str]:
    """Store id per code (or unique name); a str value is the reason the reference is unusable."""
    wanted = sorted(set(codes))
    found: dict[str, int | str] = {}
    if not wanted:
        return found
    units = table_of(OrgUnit)
    rows: list[Any] = []
    for chunk in chunks(wanted):
        rows += session.execute(
            select(units.c.id, units.c.code, units.c.name, units.c.kind).where(
                units.c.code.in_(chunk) | units.c.name.in_(chunk)
            )
        ).all()
    by_name: dict[str, list[Any]] = {}
    for row in rows:
        if row.code in wanted:
            found[row.code] = (
                row.id
                if row.kind == OrgUnitKind.store
                else f"org unit {row.code!r} is a {row.kind}, not a store"
            )
        by_name.setdefault(row.name, []).append(row)
    for code in wanted:
        if code in found:
            continue
        named = [r for r in by_name.get(code, []) if r.kind == OrgUnitKind.store]
        if len(named) == 1:
            found[code] = named[0].id
        elif len(named) > 1:
            found[code] = f"several stores are named {code!r}; use the store code"
        else:
            found[code] = f"no store with code {code!r}"
    return found


def staff_by_code(session: Session, codes: Iterable[str]) -> dict[str, int | str]:
    """Staff id per staff code or WeCom userid; a str value is the reason the reference is unusable."""
    wanted = sorted(set(codes))
    found: dict[str, int | str] = {}
    staff = table_of(Staff)
    for chunk in chunks(wanted):
        for row in session.execute(
            select(staff.c.id, staff.c.code, staff.c.wecom_userid).where(
                staff.c.code.in_(chunk) | staff.c.wecom_userid.in_(chunk)
            )
        ):
            if row.wecom_userid in wanted:
                found.setdefault(row.wecom_userid, row.id)
            if row.code in wanted:
                found[row.code] = row.id  # the staff code wins over another person's WeCom userid
    for code in wanted:
        found.setdefault(code, f"no staff member with code or WeCom userid {code!r}")
    return found
