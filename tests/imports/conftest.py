"""Helpers for importer tests: an org with stores and staff, file builders and a run helper."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.imports.context import ImportOptions
from siyu.imports.runner import ImportRun, execute_import
from siyu.models import ImportKind, OrgUnit, OrgUnitKind, Staff


def csv_bytes(rows: Sequence[Sequence[Any]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    """A CSV file's bytes."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]], number_formats: dict[int, str] | None = None) -> bytes:
    """An XLSX workbook's bytes with rows on its first sheet (column index → number format)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    for column, fmt in (number_formats or {}).items():
        for cells in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            for cell in cells:
                cell.number_format = fmt
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run_import(
    engine: Engine, kind: str, data: bytes, filename: str = "file.csv", **options: Any
) -> ImportRun:
    """Run an import through the same unit of work the CLI and the API use."""
    with session_factory(engine)() as session:
        return execute_import(session, ImportKind(kind), io.BytesIO(data), filename, ImportOptions(**options))


def count(session: Session, model: type[Any], *where: Any) -> int:
    """Rows of model matching where."""
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture()
def org(engine: Engine) -> dict[str, int]:
    """HQ → region → stores S001, S002; guides G001 (WeCom 'zhangsan') and G002; ids by code."""
    with session_factory(engine)() as s:
        hq = OrgUnit(kind=OrgUnitKind.company, code="HQ", name="总部", path="/", depth=0)
        s.add(hq)
        s.flush()
        hq.path = f"/{hq.id}/"
        region = OrgUnit(kind=OrgUnitKind.region, code="R1", name="华东", parent_id=hq.id, path="", depth=1)
        s.add(region)
        s.flush()
        region.path = f"{hq.path}{region.id}/"
        ids = {"HQ": hq.id, "R1": region.id}
        for code, name in (("S001", "南京西路店"), ("S002", "淮海路店")):
            store = OrgUnit(
                kind=OrgUnitKind.store, code=code, name=name, parent_id=region.id, path="", depth=2
            )
            s.add(store)
            s.flush()
            store.path = f"{region.path}{store.id}/"
            ids[code] = store.id
        for code, unit, userid in (("G001", "S001", "zhangsan"), ("G002", "S002", "lisi")):
            staff = Staff(code=code, name=code, unit_id=ids[unit], wecom_userid=userid)
            s.add(staff)
            s.flush()
            ids[code] = staff.id
        s.commit()
    return ids
