"""The import service: read a file, map its columns and hand the rows to the importer of its kind."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import BinaryIO

from sqlalchemy.orm import Session

from siyu.imports import customers, messages, orders
from siyu.imports.context import Context, ImportOptions, Progress
from siyu.imports.mapping import describe_columns, resolve_columns
from siyu.imports.readers import file_error, read_table
from siyu.imports.report import ImportFailed, ImportOutcome
from siyu.models import ImportKind


@contextmanager
def _gc_paused() -> Iterator[None]:
    # An import allocates millions of small objects that all live to the end: the cyclic GC would
    # rescan them again and again (it doubled the run time) without ever finding garbage.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_IMPORTERS = {
    ImportKind.customers: customers.run,
    ImportKind.orders: orders.run,
    ImportKind.messages: messages.run,
}


def run_import(
    session: Session,
    kind: ImportKind,
    stream: BinaryIO,
    filename: str,
    options: ImportOptions,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import one file into the session (never commits).

    Every row is validated before anything is written. With invalid rows and no skip_invalid,
    ImportFailed is raised (carrying the whole report); with skip_invalid the valid rows are
    written and the rest are listed in outcome.report.
    """
    table = read_table(stream, filename)
    columns = resolve_columns(
        kind,
        table.header,
        options.mapping,
        ignore_unknown=options.ignore_unknown,
        header_line=table.header_line,
    )
    outcome = ImportOutcome(kind=kind.value, filename=filename, mapping=columns.as_dict())
    ctx = Context(session=session, options=options, outcome=outcome)
    if progress is not None:
        ctx.progress = progress
    with _gc_paused():
        _IMPORTERS[kind](ctx, columns, table.rows, table.size_hint)
    if outcome.counts.total_rows == 0:
        raise file_error(filename, "the file has a header but no data rows")
    if outcome.report and not options.skip_invalid:
        raise ImportFailed(outcome)
    return outcome


@dataclass
class Preview:
    """What an import would read: encoding, the header → field plan, missing fields and the first rows."""

    format: str
    encoding: str | None
    columns: list[tuple[str, str | None, str]]
    missing: list[str]
    rows: list[tuple[int, list[str]]]


def _cell_text(cell: object) -> str:
    return "" if cell is None else str(cell)


def preview(
    kind: ImportKind, stream: BinaryIO, filename: str, options: ImportOptions, limit: int = 10
) -> Preview:
    """Read the header and the first rows of a file and plan its column mapping, writing nothing."""
    table = read_table(stream, filename)
    columns, missing = describe_columns(
        kind, table.header, options.mapping, ignore_unknown=options.ignore_unknown
    )
    rows = [(line, [_cell_text(c) for c in cells]) for line, cells in islice(table.rows, limit)]
    return Preview(table.format, table.encoding, columns, missing, rows)
