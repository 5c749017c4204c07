"""Pydantic shapes of the import API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.imports.report import ERROR_CAP


class ImportJobOut(BaseModel):
    """One import run: what came in, what was written and where its error report is."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    filename: str
    file_sha256: str
    status: str = Field(description="running, succeeded or failed")
    skip_invalid: bool
    account_id: int | None
    total_rows: int = Field(description="data rows read from the file")
    inserted: int = Field(description="records created (customers, orders or messages)")
    updated: int = Field(description="records that existed and changed")
    unchanged: int = Field(description="records that existed already, as they are (re-imports)")
    rejected: int = Field(description="rows not imported (see the report)")
    message: str | None
    mapping: dict[str, str] | None = Field(description="file header → field")
    created_at: datetime
    finished_at: datetime | None


class RowError(BaseModel):
    """One problem: the file line, the column, the value and why it was refused."""

    row: int | None = Field(description="line number in the file (the header is usually line 1)")
    column: str | None
    value: Any = None
    reason: str


class ImportReportOut(BaseModel):
    """The error report of an import job."""

    job_id: int
    status: str
    rejected: int
    listed: int = Field(description="problems listed here")
    truncated: bool = Field(description=f"true when more problems were found than the {ERROR_CAP} listed")
    message: str | None
    errors: list[RowError]
