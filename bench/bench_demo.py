"""Benchmark the demo builder: build the demo brand into a fresh temporary SQLite file.

Run: .venv/bin/python bench/bench_demo.py [--customers 50000 --customers 500000] [--out result.json]
Prints one JSON object per size {customers, seconds, peak_rss_mb, db_mb, rows: {table: n}}. Each
build runs in its own subprocess, so peak RSS is that build's alone; the build goes through
siyu.demo.builder.build_demo in one transaction, as `siyu demo` does (migration not timed).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_SIZES = (50_000, 500_000)


def build_once(customers: int, seed: int, workdir: Path) -> dict[str, object]:
    """Build one demo into workdir/demo-<customers>.db and measure it (runs in the child process)."""
    from siyu.db.engine import make_engine, session_factory
    from siyu.db.migrate import upgrade
    from siyu.demo.builder import DemoParams, build_demo

    db_path = workdir / f"demo-{customers}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db_path}"
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    with session_factory(engine)() as session:
        result = build_demo(session, DemoParams(customers=customers, seed=seed))
        session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    size = sum(Path(f"{db_path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db_path}{s}").exists())
    return {
        "customers": customers,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "db_mb": round(size / 2**20, 1),
        "violations": {k: len(v) for k, v in result.violations.items()},
        "rows": result.counts,
        "total_rows": sum(result.counts.values()),
    }


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    """Build each size in a child process and print the JSON results."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, action="append", help="size to build (repeatable)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the databases here")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON list here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="siyu-bench-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sizes = args.customers or list(DEFAULT_SIZES)
    if args.child:
        print(json.dumps(build_once(sizes[0], args.seed, workdir)))
        return []
    results = []
    for customers in sizes:
        command = [
            sys.executable,
            __file__,
            "--child",
            "--customers",
            str(customers),
            "--seed",
            str(args.seed),
        ]
        child = subprocess.run(
            [*command, "--workdir", str(workdir)], capture_output=True, text=True, check=False
        )
        if child.returncode != 0:
            sys.stderr.write(child.stderr)
            raise SystemExit(f"build of {customers} customers failed")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        result["machine"] = {
            "python": platform.python_version(),
            "cpus": _cpus(),
            "platform": platform.platform(),
        }
        print(json.dumps(result, ensure_ascii=False), flush=True)
        results.append(result)
        if not args.workdir:
            for db in workdir.glob(f"demo-{customers}.db*"):
                db.unlink()
    if args.out:
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return results


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
