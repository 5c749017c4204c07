"""What an import did: counts, the error report (row, column, value, reason) and the rejects file."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from siyu.errors import Invalid
from siyu.imports.readers import read_table

ERROR_CAP = 1000
_VALUE_CAP = 200


def _show(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat(" ") if isinstance(value, datetime) else value.isoformat()
    text = str(value)
    return text if len(text) <= _VALUE_CAP else text[: _VALUE_CAP - 1] + "…"


class ErrorReport:
    """Every problem found, keyed by file line; the list kept for the report is capped."""

    def __init__(self, cap: int = ERROR_CAP) -> None:
        self.cap = cap
        self.total = 0
        self.errors: list[dict[str, Any]] = []
        self.reasons: dict[int, str] = {}

    def add(self, row: int, column: str | None, value: Any, reason: str) -> None:
        """Record one problem with a cell (or a row when column is None)."""
        self.total += 1
        if len(self.errors) < self.cap:
            self.errors.append({"row": row, "column": column, "value": _show(value), "reason": reason})
        if row not in self.reasons:
            self.reasons[row] = f"{column}: {reason}" if column else reason

    def reject(self, row: int, reason: str) -> None:
        """Mark a row rejected because of a problem reported on another row (e.g. its order)."""
        self.reasons.setdefault(row, reason)

    def __bool__(self) -> bool:
        return self.total > 0

    def summary(self) -> str:
        """One line for messages: how many problems on how many rows, and how many are listed."""
        listed = f"; the first {len(self.errors)} are listed" if self.total > len(self.errors) else ""
        return f"{self.total} problem(s) on {len(self.reasons)} row(s){listed}"


@dataclass
class Counts:
    """Records read and what became of them (inserted/updated/unchanged count the file's records)."""

    total_rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


@dataclass
class ImportOutcome:
    """The result of one import run, before or after the edge commits it."""

    kind: str
    filename: str
    counts: Counts = field(default_factory=Counts)
    report: ErrorReport = field(default_factory=ErrorReport)
    mapping: dict[str, str] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    def message(self) -> str:
        """A one-line summary for the job record and the CLI."""
        c = self.counts
        parts = [
            f"{c.total_rows} row(s): {c.inserted} inserted, {c.updated} updated, {c.unchanged} unchanged"
        ]
        if c.rejected:
            parts.append(f"{c.rejected} row(s) rejected")
        extra = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.stats.items() if v)
        if extra:
            parts.append(extra)
        return "; ".join(parts)


class ImportFailed(Invalid):
    """The file has invalid rows and nothing was written; carries the outcome for the job record."""

    def __init__(self, outcome: ImportOutcome, job_id: int | None = None) -> None:
        report = outcome.report
        super().__init__(
            f"{outcome.filename}: {report.summary()}; nothing was imported "
            "(fix the file, or use skip-invalid to import the valid rows)",
            details=report.errors,
        )
        self.outcome = outcome
        self.job_id = job_id

    def to_dict(self) -> dict[str, Any]:
        """The usual error body plus the job id and the total number of problems."""
        body = super().to_dict()
        body["job_id"] = self.job_id
        body["error_count"] = self.outcome.report.total
        return body


def write_rejects(stream: BinaryIO, filename: str, reasons: dict[int, str], target: Path) -> int:
    """Write the rejected rows of the file to target as UTF-8 CSV (BOM for Excel) with a reason column."""
    table = read_table(stream, filename)
    written = 0
    with target.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", *table.header, "reason"])
        for line, cells in table.rows:
            reason = reasons.get(line)
            if reason is not None:
                writer.writerow([line, *(_show(c) or "" for c in cells), reason])
                written += 1
    return written
