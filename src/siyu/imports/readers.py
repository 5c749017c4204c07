"""Reading CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16) and XLSX files into header + rows."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from siyu.errors import Invalid

Cell = Any  # str, or datetime/date for XLSX date cells
_CHUNK = 1 << 20
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
csv.field_size_limit(16 << 20)  # chat archives carry long texts; the default 128 KiB is too small


@dataclass
class Table:
    """A file opened for reading: its header and an iterator of (line number, cells) data rows."""

    filename: str
    format: str
    encoding: str | None
    header: list[str]
    header_line: int
    rows: Iterator[tuple[int, list[Cell]]]
    size_hint: int | None


def file_error(filename: str, reason: str) -> Invalid:
    """An Invalid about the file as a whole."""
    return Invalid(
        f"{filename}: {reason}", details=[{"row": None, "column": None, "value": None, "reason": reason}]
    )


def _is_blank(cells: list[Cell]) -> bool:
    for cell in cells:  # noqa: SIM110  (a plain loop: data rows stop at their first cell, cheaply)
        if cell is not None and (cell.__class__ is not str or cell.strip()):
            return False
    return True


def detect_encoding(stream: BinaryIO, filename: str) -> tuple[str, int]:
    """The text encoding of stream (strict UTF-8 first, then GB18030) and its number of lines."""
    stream.seek(0)
    head = stream.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    else:
        # GB18030 is a superset of GBK and GB2312; a text that is valid UTF-8 is taken as UTF-8.
        candidates = ["utf-8-sig", "gb18030"]
    first_error = ""
    for encoding in candidates:
        stream.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        lines = 0
        offset = 0
        try:
            while chunk := stream.read(_CHUNK):
                decoder.decode(chunk)
                lines += chunk.count(b"\n")
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            first_error = first_error or f"byte offset {offset + exc.start}"
            continue
        stream.seek(0)
        return encoding, lines
    tried = " or ".join("UTF-8" if e.startswith("utf-8") else e.upper() for e in candidates)
    raise file_error(
        filename,
        f"cannot decode the file as {tried} text (first bad byte at {first_error}); save it as UTF-8 CSV or XLSX",
    )


def _csv_table(stream: BinaryIO, filename: str) -> Table:
    encoding, lines = detect_encoding(stream, filename)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    first = text.readline()
    # Excel's "Unicode text" export is tab-separated; everything else we meet is comma-separated.
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    text.seek(0)
    reader = csv.reader(text, delimiter=delimiter)

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        # One generator does numbering and blank-row skipping: it runs once per row of big files.
        start = 1
        try:
            for cells in reader:
                if any(cells) and (cells[0].strip() or not _is_blank(cells)):
                    yield start, cells
                start = reader.line_num + 1
        except csv.Error as exc:
            raise file_error(filename, f"line {reader.line_num}: broken CSV ({exc})") from exc
        finally:
            # The caller owns the binary stream (it may read it again for rejects): do not close it.
            with suppress(ValueError):
                text.detach()

    rows = numbered()
    for line, cells in rows:
        header = [str(c).strip().lstrip("\ufeff") for c in cells]
        return Table(filename, "csv", encoding, header, line, rows, max(0, lines - line))
    raise file_error(filename, "the file is empty")


def _excel_cell(value: Any) -> Cell:
    if value is None or isinstance(value, str):
        return "" if value is None else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        # Excel keeps binary floats: 1234.4999999999998 is the 1234.50 the user typed.
        return repr(round(value, 9))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _excel_table(stream: BinaryIO, filename: str) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook

    stream.seek(0)
    try:
        book = CalamineWorkbook.from_filelike(stream)
        if not book.sheet_names:
            raise file_error(filename, "the workbook has no sheets")
        grid = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as exc:
        raise file_error(filename, f"cannot read the Excel file ({exc}); is it a valid .xlsx?") from exc
    for index, raw in enumerate(grid):
        cells = [_excel_cell(v) for v in raw]
        if not _is_blank(cells):
            header = [str(c).strip() for c in cells]
            while header and not header[-1]:
                header.pop()
            body = (
                (number, cells)
                for number, cells in (
                    (i + 1, [_excel_cell(v) for v in r]) for i, r in enumerate(grid) if i > index
                )
                if not _is_blank(cells)
            )
            return Table(filename, "xlsx", None, header, index + 1, body, len(grid) - index - 1)
    raise file_error(filename, "the workbook's first sheet is empty")


def read_table(stream: BinaryIO, filename: str) -> Table:
    """Open stream as a table; the format comes from the content, not the file name."""
    stream.seek(0)
    magic = stream.read(4)
    if not magic:
        raise file_error(filename, "the file is empty")
    if magic.startswith((_XLSX_MAGIC, _XLS_MAGIC)):
        return _excel_table(stream, filename)
    if filename.lower().endswith(_EXCEL_SUFFIXES):
        raise file_error(filename, "named like an Excel file but it is not one (corrupt or renamed)")
    return _csv_table(stream, filename)


@contextmanager
def open_path(path: Path) -> Iterator[BinaryIO]:
    """Open a file for read_table, turning a missing file into a clear error."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise file_error(path.name, f"cannot open {path}: {exc.strerror}") from exc
    with handle:
        yield handle
