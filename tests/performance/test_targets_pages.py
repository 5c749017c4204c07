"""Console pages for stage, KPI sets and targets: render, CSRF, audited writes, scope, numbers == catalog."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.models import AuditLog, BrandStageChange, KpiSet, Target
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import Period, SubjectKind
from siyu.performance.kpi_service import install_seed
from siyu.performance.targets_service import TargetTerms, create_target
from tests.performance.test_leaderboard_world import DAY, World, build
from tests.web.conftest import MakeAccount, login, make_account, page_token  # noqa: F401  (fixture)

MAY = Period.month(DAY)


def _world(engine: Engine) -> World:
    with session_factory(engine)() as s:
        w = build(s)
        install_seed(s, SYSTEM_ACTOR, date(2026, 1, 1))
        for code in ("A", "C"):
            create_target(s, SYSTEM_ACTOR, "staff", w.staff[code], TargetTerms("gmv", MAY, 300_000))
        s.commit()
    return w


def _count(engine: Engine, model: type, **where: object) -> int:
    with session_factory(engine)() as s:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(s.scalar(query) or 0)


def test_pages_render_for_admin(client: TestClient, engine: Engine, make_account: MakeAccount) -> None:  # noqa: F811
    _world(engine)
    make_account("root", "admin")
    assert login(client, "root").status_code == 303
    for path in (
        "/performance/stage",
        "/performance/kpi-sets",
        f"/performance/targets?period=month&day={DAY.isoformat()}",
        "/performance/targets/new",
        "/performance/targets/rollup",
        "/performance/targets/score",
        "/performance/kpi-sets/edit?role=guide&stage=growth",
    ):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert "<script>" not in page.text and "style=" not in page.text
    grid = client.get("/performance/kpi-sets").text
    assert 'data-metric="store_visit_rate"' in grid and 'data-metric="revenue_per_staff"' in grid


def test_target_list_numbers_equal_the_catalog(
    client: TestClient,
    engine: Engine,
    make_account: MakeAccount,  # noqa: F811
) -> None:
    w = _world(engine)
    make_account("root", "admin")
    login(client, "root")
    page = client.get(f"/performance/targets?period=month&day={DAY.isoformat()}").text
    with session_factory(engine)() as s:
        table = compute_metrics(s, ["gmv"], MAY, SubjectKind.staff)
    for code in ("A", "C"):
        sid = w.staff[code]
        row = re.search(rf'data-subject="staff:{sid}".*?data-key="actual" data-value="([^"]*)"', page, re.S)
        assert row is not None
        value = table.get("gmv", sid)
        assert float(row.group(1)) == float(value.value if value else 0)
    export = client.get(f"/performance/targets/export.csv?period=month&day={DAY.isoformat()}")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert len(rows) == 2
    for r in rows:
        value = table.get("gmv", int(r["subject_id"]))
        assert float(r["actual"]) == float(value.value if value else 0)
        assert float(r["target"]) == 300_000


def test_forms_need_csrf_and_are_audited(
    client: TestClient,
    engine: Engine,
    make_account: MakeAccount,  # noqa: F811
) -> None:
    w = _world(engine)
    make_account("root", "admin")
    login(client, "root")
    data = {"subject_kind": "staff", "subject_code": "B", "metric": "orders", "period": "month",
            "day": DAY.isoformat(), "value": "12", "exceed": "130", "note": "奖金 500"}  # fmt: skip
    assert client.post("/performance/targets/new", data=data, follow_redirects=False).status_code == 403
    token = page_token(client, "/performance/targets/new")
    r = client.post("/performance/targets/new", data={**data, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert _count(engine, AuditLog, action="target.create") == 3  # two from the fixture world
    # Money is typed in yuan and stored in fen.
    money = {**data, "metric": "gmv", "value": "1234.5", "csrf_token": token}
    assert client.post("/performance/targets/new", data=money, follow_redirects=False).status_code == 303
    with session_factory(engine)() as s:
        stored = s.scalar(
            select(Target.target_value).where(Target.subject_id == w.staff["B"], Target.metric_code == "gmv")
        )
    assert stored == 123_450
    # An invalid value comes back as a form error, nothing written.
    bad = client.post("/performance/targets/new", data={**data, "metric": "conversion_rate", "value": "300",
                                                       "csrf_token": token})  # fmt: skip
    assert bad.status_code == 422 and "0..1" in bad.text
    bulk = {
        **data,
        "unit_id": str(w.units["ST1"]),
        "metric": "tasks_done",
        "value": "20",
        "csrf_token": token,
    }
    assert client.post("/performance/targets/bulk", data=bulk, follow_redirects=False).status_code == 303
    assert _count(engine, Target, metric_code="tasks_done") == 2
    with session_factory(engine)() as s:
        a_target = s.scalar(
            select(Target.id).where(Target.subject_id == w.staff["A"], Target.metric_code == "gmv")
        )
    edit_page = client.get(f"/performance/targets/{a_target}/edit")
    assert edit_page.status_code == 200 and 'value="3000"' in edit_page.text  # 300,000 fen shown as 3000 yuan
    edit = {"metric": "gmv", "period": "month", "day": "2026-05-01", "last": "2026-05-31", "value": "2500",
            "exceed": "110", "new_business": "on", "csrf_token": token}  # fmt: skip
    assert (
        client.post(f"/performance/targets/{a_target}/edit", data=edit, follow_redirects=False).status_code
        == 303
    )
    with session_factory(engine)() as s:
        changed = s.get(Target, a_target)
        assert changed is not None
        assert (changed.target_value, changed.exceed_percent, changed.new_business) == (250_000, 110, True)
    assert _count(engine, AuditLog, action="target.update") == 1
    deleted = client.post(
        f"/performance/targets/{a_target}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert deleted.status_code == 303 and _count(engine, Target, id=a_target) == 0
    assert _count(engine, AuditLog, action="target.delete") == 1
    stage = {"stage": "growth", "effective_from": "2026-05-01", "note": "", "csrf_token": token}
    assert client.post("/performance/stage", data=stage, follow_redirects=False).status_code == 303
    assert _count(engine, BrandStageChange) == 1 and _count(engine, AuditLog, action="stage.set") == 1
    kpi = {"role": "guide", "stage": "growth", "effective_from": "2026-05-01", "metric_0": "gmv", "weight_0": "70",
           "metric_1": "orders", "weight_1": "20", "csrf_token": token}  # fmt: skip
    r = client.post("/performance/kpi-sets/edit", data=kpi)
    assert r.status_code == 422 and "weights sum to 90" in r.text
    kpi["weight_1"] = "30"
    assert client.post("/performance/kpi-sets/edit", data=kpi, follow_redirects=False).status_code == 303
    assert _count(engine, KpiSet, role_code="guide", stage="growth") == 2  # seed v1 + v2


def test_guide_sees_only_own_targets_and_forged_ids_404(
    client: TestClient,
    engine: Engine,
    make_account: MakeAccount,  # noqa: F811
) -> None:
    w = _world(engine)
    make_account("ga", "guide", scope="self", staff_code="A")
    assert login(client, "ga").status_code == 303
    page = client.get(f"/performance/targets?period=month&day={DAY.isoformat()}").text
    assert f'data-subject="staff:{w.staff["A"]}"' in page
    assert f'data-subject="staff:{w.staff["C"]}"' not in page
    with session_factory(engine)() as s:
        other = s.scalar(select(Target.id).where(Target.subject_id == w.staff["C"]))
    token = page_token(client, "/performance/targets")
    # A guide may not write targets at all; a manager of another store gets 404 for a forged id.
    assert client.post(f"/performance/targets/{other}/delete", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    make_account("m3", "manager", scope="unit", unit_code="ST3")
    login(client, "m3")
    token = page_token(client, "/performance/targets")
    assert client.get(f"/performance/targets/{other}/edit").status_code == 404
    assert client.post(f"/performance/targets/{other}/delete", data={"csrf_token": token}).status_code == 404
    assert _count(engine, Target) == 2
    assert client.post("/performance/stage", data={"stage": "steady", "effective_from": "2026-05-01",
                                                   "csrf_token": token}).status_code == 403  # fmt: skip
