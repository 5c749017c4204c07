"""Benchmark the order importer: generate an N-row order-lines CSV and import it into a fresh SQLite file.

Run: .venv/bin/python bench/bench_import.py [--rows 1000000] [--out result.json]
Prints JSON {rows, orders, customers, seconds, rows_per_s, peak_rss_mb, …}; the import goes through
siyu.imports.runner.execute_import, the same function `siyu import orders` calls.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from siyu.db.engine import make_engine, session_factory
from siyu.db.migrate import upgrade
from siyu.imports.context import ImportOptions
from siyu.imports.runner import execute_import
from siyu.models import Customer, ImportKind, Order, OrderLine, OrgUnit, OrgUnitKind, Staff

HEADER = [
    "订单号",
    "下单时间",
    "手机号",
    "实付金额",
    "渠道",
    "门店",
    "导购",
    "商品编码",
    "商品名称",
    "数量",
    "商品金额",
]
STORES = 50
STAFF_PER_STORE = 4
CHANNELS = ["小程序", "门店", "电商", "直播"]
PRODUCTS = [(f"SKU{i:04d}", f"商品{i}", 990 + 500 * (i % 40)) for i in range(300)]
MOBILE_PREFIXES = ["138", "139", "150", "151", "186", "187", "135", "136", "177", "199"]


def _phone(rng: random.Random, serial: int) -> str:
    digits = MOBILE_PREFIXES[serial % len(MOBILE_PREFIXES)] + f"{(serial * 7919) % 100_000_000:08d}"
    style = rng.random()
    if style < 0.03:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    if style < 0.05:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return digits


def generate(path: Path, rows: int, seed: int = 20240301) -> tuple[int, int]:
    """Write the deterministic CSV; returns (orders, distinct customers)."""
    rng = random.Random(seed)
    customers = max(1, rows // 5)
    start = datetime(2024, 1, 1, 8, 0, 0)
    step = timedelta(days=365) / max(1, rows)
    written = orders = 0
    used: set[int] = set()
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        while written < rows:
            orders += 1
            lines = min(rows - written, 1 if rng.random() < 0.7 else (2 if rng.random() < 0.67 else 3))
            customer = rng.randrange(customers)
            used.add(customer)
            phone = _phone(rng, customer)
            when = (start + step * written).strftime("%Y-%m-%d %H:%M:%S")
            channel = CHANNELS[rng.randrange(4)]
            store = f"S{rng.randrange(STORES):03d}" if channel == "门店" else ""
            staff = f"G{rng.randrange(STORES * STAFF_PER_STORE):04d}" if channel in ("门店", "小程序") else ""
            picked = [PRODUCTS[rng.randrange(len(PRODUCTS))] for _ in range(lines)]
            quantities = [1 + (rng.random() < 0.2) for _ in range(lines)]
            amounts = [price * q for (_, _, price), q in zip(picked, quantities, strict=True)]
            total = sum(amounts)
            for (sku, name, _), q, amount in zip(picked, quantities, amounts, strict=True):
                out.writerow(
                    [
                        f"SO{orders:09d}",
                        when,
                        phone,
                        f"{total / 100:.2f}",
                        channel,
                        store,
                        staff,
                        sku,
                        name,
                        q,
                        f"{amount / 100:.2f}",
                    ]
                )
                written += 1
    return orders, len(used)


def _count(path: Path) -> tuple[int, int]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        orders: set[str] = set()
        phones: set[str] = set()
        for row in rows:
            orders.add(row[0])
            phones.add("".join(ch for ch in row[2] if ch.isdigit())[-11:])
    return len(orders), len(phones)


def seed_org(url: str) -> None:
    """One company, the stores and their guides the generated file refers to."""
    with session_factory(make_engine(url))() as session:
        company = OrgUnit(kind=OrgUnitKind.company, code="HQ", name="总部", path="/", depth=0)
        session.add(company)
        session.flush()
        company.path = f"/{company.id}/"
        for s in range(STORES):
            store = OrgUnit(
                kind=OrgUnitKind.store,
                code=f"S{s:03d}",
                name=f"门店{s}",
                parent_id=company.id,
                path="",
                depth=1,
            )
            session.add(store)
            session.flush()
            store.path = f"/{company.id}/{store.id}/"
            for g in range(STAFF_PER_STORE):
                number = s * STAFF_PER_STORE + g
                session.add(Staff(code=f"G{number:04d}", name=f"导购{number}", unit_id=store.id))
        session.commit()


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Generate, import, verify, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the CSV and database here")
    parser.add_argument("--reuse", action="store_true", help="reuse the CSV already in --workdir")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="siyu-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path, db_path = workdir / f"orders-{args.rows}.csv", workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    t0 = time.perf_counter()
    if args.reuse and csv_path.exists():
        orders, customers = _count(csv_path)
    else:
        orders, customers = generate(csv_path, args.rows)
    generated = time.perf_counter() - t0
    url = f"sqlite:///{db_path}"
    upgrade(url)
    seed_org(url)
    engine = make_engine(url)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with csv_path.open("rb") as stream, session_factory(engine)() as session:
        t1, c1 = time.perf_counter(), time.process_time()
        run = execute_import(session, ImportKind.orders, stream, csv_path.name, ImportOptions())
        seconds, cpu = time.perf_counter() - t1, time.process_time() - c1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with session_factory(engine)() as session:
        stored_orders = session.scalar(select(func.count()).select_from(Order))
        stored_lines = session.scalar(select(func.count()).select_from(OrderLine))
        stored_customers = session.scalar(select(func.count()).select_from(Customer))
    result: dict[str, object] = {
        "benchmark": "import_orders_csv_sqlite",
        "rows": args.rows,
        "orders": stored_orders,
        "order_lines": stored_lines,
        "customers": stored_customers,
        "seconds": round(seconds, 2),
        "rows_per_s": round(args.rows / seconds),
        # CPU time of the importing process: steadier than wall time on a shared machine.
        "cpu_seconds": round(cpu, 2),
        "rows_per_cpu_s": round(args.rows / cpu),
        "peak_rss_mb": round(peak),
        "rss_before_import_mb": round(rss_before),
        "csv_mb": round(csv_path.stat().st_size / 2**20, 1),
        "generate_seconds": round(generated, 2),
        "job_status": run.job.status,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    if (stored_orders, stored_customers) != (orders, customers) or run.job.status != "succeeded":
        result["error"] = f"expected {orders} orders and {customers} customers"
    text = json.dumps(result, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    sys.exit(1 if "error" in main() else 0)
