"""Customer list export (CSV / XLSX) of the current filter, in the actor's scope, in chunks, audited."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

import xlsxwriter
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.customers import repository as repo
from siyu.customers.service import CustomerQuery, resolve_filters
from siyu.org.permissions import Actor
from siyu.privacy import show_phone

CHUNK = 1000
HEADER = ["id", "name", "phone", "source", "lifecycle_stage", "owner", "store", "tags", "first_seen_at"]
FORMATS = ("csv", "xlsx")


def export_rows(session: Session, actor: Actor, query: CustomerQuery, *, reveal: bool) -> Iterator[list[Any]]:
    """Rows of the filtered, readable customers, fetched CHUNK at a time by id keyset."""
    filters = resolve_filters(session, query)
    after = 0
    while True:
        chunk = repo.customer_chunk(session, actor, filters, after_id=after, limit=CHUNK)
        if not chunk:
            return
        ids = [c.id for c in chunk]
        phones = repo.first_phones(session, ids)
        tags = repo.tags_of(session, ids)
        staff = repo.staff_names(session, [c.owner_staff_id for c in chunk if c.owner_staff_id])
        units = repo.unit_names(session, [c.home_store_id for c in chunk if c.home_store_id])
        for c in chunk:
            yield [
                c.id,
                c.name or "",
                show_phone(phones.get(c.id), reveal) or "",
                c.source.value,
                c.lifecycle_stage.value,
                staff.get(c.owner_staff_id or 0, ""),
                units.get(c.home_store_id or 0, ""),
                "; ".join(f"{t.group_name}:{t.name}" for t in tags[c.id]),
                c.first_seen_at.isoformat() if c.first_seen_at else "",
            ]
        after = chunk[-1].id
        # Drop the chunk's ORM objects so a large export keeps a flat memory profile.
        session.expunge_all()


def csv_cell(value: Any) -> Any:
    """A value safe to open in a spreadsheet (no formula injection)."""
    # Cells starting with = + - @ would run as formulas in a spreadsheet (CSV injection).
    # A phone such as +8613… stays as it is: a sign followed by a digit is a number, not a formula.
    if isinstance(value, str) and (
        value[:1] in ("=", "@", "\t", "\r") or (value[:1] in ("+", "-") and not value[1:2].isdigit())
    ):
        return "'" + value
    return value


def write_table(
    header: list[str], rows: Iterable[list[Any]], fmt: str, sheet_name: str
) -> tuple[IO[bytes], int]:
    """Stream rows as CSV (UTF-8 with BOM, for Excel) or XLSX into a spooled temporary file at offset 0."""
    # The caller streams the file and closes it, so no context manager here.
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    count = 0
    if fmt == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])
            count += 1
        text.flush()
        text.detach()
    else:
        book = xlsxwriter.Workbook(
            out, {"constant_memory": True, "in_memory": False, "strings_to_formulas": False}
        )
        sheet = book.add_worksheet(sheet_name)
        sheet.write_row(0, 0, header)
        for row in rows:
            count += 1
            sheet.write_row(count, 0, row)
        book.close()
    out.seek(0)
    return out, count


def write_export(session: Session, actor: Actor, query: CustomerQuery, fmt: str) -> tuple[IO[bytes], int]:
    """Write the export to a spooled temporary file and audit it; returns (file at offset 0, row count)."""
    reveal = actor.may_reveal_phone
    rows = export_rows(session, actor, query, reveal=reveal)
    out, count = write_table(HEADER, rows, fmt, "customers")
    used = {k: str(v) for k, v in vars(query).items() if v is not None}
    detail = {"format": fmt, "filter": used, "rows": count, "phones": "revealed" if reveal else "masked"}
    audit(session, actor, "customer.export", "customer", None, detail)
    return out, count
