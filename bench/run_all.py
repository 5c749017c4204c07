"""Run every benchmark and print one JSON document: the importer beside its raw-insert baseline, the demo build.

Run: .venv/bin/python bench/run_all.py [--rows 1000000] [--customers 50000] [--out bench/out/results.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(args: list[str]) -> dict[str, object]:
    done = subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Import benchmark + baseline on the same CSV, then the demo build."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="siyu-bench-") as tmp:
        work = Path(tmp)
        imported = _run([str(HERE / "bench_import.py"), "--rows", str(args.rows), "--workdir", str(work)])
        baseline = _run([str(HERE / "baseline_import.py"), str(work / f"orders-{args.rows}.csv")])
    demo = _run([str(HERE / "bench_demo.py"), "--customers", str(args.customers)])
    report = {
        "import": imported,
        "import_baseline": baseline,
        "import_share_of_baseline": round(int(imported["rows_per_s"]) / int(baseline["rows_per_s"]), 3),  # type: ignore[call-overload]
        "demo": demo,
    }
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
