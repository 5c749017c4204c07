"""Baseline for the import benchmark: the same CSV parsed with csv and inserted raw, no validation.

Run: .venv/bin/python bench/baseline_import.py CSV_PATH
It measures what this machine needs just to read the file and executemany the rows into SQLite, so
the importer's figure can be compared with a floor taken in the same run.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path


def main(csv_path: Path) -> dict[str, object]:
    """Insert every row of csv_path as text into a fresh SQLite table; print JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "baseline.db")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        started = time.perf_counter()
        with csv_path.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.reader(stream)
            header = next(reader)
            columns = ", ".join(f"c{i} TEXT" for i in range(len(header)))
            db.execute(f"CREATE TABLE raw (id INTEGER PRIMARY KEY, {columns})")
            marks = ", ".join("?" for _ in header)
            names = ", ".join(f"c{i}" for i in range(len(header)))
            rows = 0
            while chunk := [row for _, row in zip(range(20_000), reader, strict=False)]:
                db.executemany(f"INSERT INTO raw ({names}) VALUES ({marks})", chunk)  # noqa: S608
                rows += len(chunk)
        db.commit()
        seconds = time.perf_counter() - started
        db.close()
    result: dict[str, object] = {
        "benchmark": "baseline_raw_csv_to_sqlite",
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(Path(sys.argv[1]))
