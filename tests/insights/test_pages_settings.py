"""The insights settings page: field-level errors, new versions, audit, history; and the calibration maths."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.insights.calibration import bgnbd_pmf, calibration_rows
from siyu.insights.contract import BgNbdParams, InsightSettings
from siyu.insights.settings import load_settings
from siyu.insights.settings_views import SECTIONS
from siyu.models import AuditLog
from siyu.models.insights import InsightRun
from tests.insights.console_data import PASSWORD, Brand, build_brand
from tests.web.conftest import csrf_from, login


@pytest.fixture()
def brand(engine: Engine) -> Brand:
    return build_brand(engine, customers=10)


def _form(client: TestClient, **changes: str) -> dict[str, str]:
    """The settings form as the page fills it, with changes applied (checkboxes sent only when on)."""
    html = client.get("/insights/settings").text
    data = {"csrf_token": csrf_from(html)}
    for section, _title, fields in SECTIONS:
        for name, _label, kind in fields:
            key = f"{section}.{name}"
            if kind == "bool":
                if re.search(rf'name="{re.escape(key)}" value="1" checked', html):
                    data[key] = "1"
            elif kind in ("int", "optint", "float"):
                match = re.search(rf'name="{re.escape(key)}" value="([^"]*)"', html)
                assert match, key
                data[key] = match.group(1)
            else:
                match = re.search(
                    rf'<select name="{re.escape(key)}">.*?<option value="([^"]+)" selected', html, re.S
                )
                assert match, key
                data[key] = match.group(1)
    data.update(changes)
    return data


def test_form_shows_the_defaults_and_saves_a_new_audited_version(
    client: TestClient, brand: Brand, engine: Engine
) -> None:
    assert login(client, "operator", PASSWORD).status_code == 303
    data = _form(
        client, **{"rfm.window_days": "180", "churn.p_alive_below": "0.25", "note": "shorter window"}
    )
    assert data["rfm.window_days"] == "180" and data["model.fit_pareto_nbd"] == "1"
    data.pop("model.fit_pareto_nbd")  # unticked
    response = client.post("/insights/settings", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    with session_factory(engine)() as s:
        version, settings = load_settings(s)
        assert version == 1
        assert settings.rfm.window_days == 180 and settings.churn.p_alive_below == 0.25
        assert settings.model.fit_pareto_nbd is False
        assert settings.lifecycle == InsightSettings().lifecycle
        assert s.scalar(select(func.count()).where(AuditLog.action == "insights.settings")) == 1
    html = client.get("/insights/settings?notice=saved").text
    assert '<tr data-version="1">' in html and "shorter window" in html and "operator" in html
    assert 'value="180"' in html
    client.post("/insights/settings", data=_form(client), follow_redirects=False)
    with session_factory(engine)() as s:
        assert load_settings(s)[0] == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rfm.window_days": "abc"}, "rfm.window_days"),
        ({"rfm.window_days": "3"}, "rfm.window_days"),
        ({"churn.p_alive_below": "1.5"}, "churn.p_alive_below"),
        ({"rfm.cut": "fixed"}, "rfm"),
        ({"lifecycle.active_days": "400"}, "lifecycle"),
        ({"model.margin": ""}, "model.margin"),
    ],
)
def test_errors_name_the_field_and_nothing_is_saved(
    client: TestClient, brand: Brand, engine: Engine, changes: dict[str, str], field: str
) -> None:
    assert login(client, "admin", PASSWORD).status_code == 303
    response = client.post("/insights/settings", data=_form(client, **changes))
    assert response.status_code == 422
    html = response.text
    error_id = "error-" + field.replace(".", "-")
    match = re.search(rf'id="{error_id}">([^<]*)<', html)
    assert match, (field, re.findall(r'class="field-error"[^>]*>[^<]*<', html))
    assert match.group(1).startswith(f"{field}: ")
    assert len(re.findall(r'class="field-error"', html)) == 1
    for key, value in changes.items():
        if not key.endswith(".cut"):
            assert f'name="{key}" value="{value}"' in html  # the typed value stays in the form
    with session_factory(engine)() as s:
        assert load_settings(s)[0] is None


def test_refresh_now_needs_the_settings_role_and_records_a_run(
    client: TestClient, brand: Brand, engine: Engine
) -> None:
    assert login(client, "analyst", PASSWORD).status_code == 303
    token = csrf_from(client.get("/insights").text)
    assert client.post("/insights/refresh", data={"csrf_token": token}).status_code == 403
    client.cookies.clear()
    assert login(client, "operator", PASSWORD).status_code == 303
    token = csrf_from(client.get("/insights/settings").text)
    response = client.post("/insights/refresh", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    with session_factory(engine)() as s:
        runs = s.scalars(select(InsightRun).order_by(InsightRun.id)).all()
        assert len(runs) == 2 and runs[-1].status == "done"
        assert s.scalar(select(func.count()).where(AuditLog.action == "insights.refresh")) == 1
    html = client.get("/insights").text
    assert runs[-1].as_of.isoformat() in html[html.index('id="run"') :]


def test_pmf_matches_the_closed_form_and_sums_to_one() -> None:
    params = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    t = np.array([0.0, 1.0, 10.0, 39.0, 78.0])
    pmf = bgnbd_pmf(params, t, 6)
    assert pmf.shape == (5, 7)
    assert np.allclose(pmf.sum(axis=1), 1.0)
    assert pmf[0, 0] == 1.0
    # lifetimes' probability_of_n_purchases_up_to_time for the CDNOW estimates at t = 39 weeks.
    lifetimes = pytest.importorskip("lifetimes")
    fitter = lifetimes.BetaGeoFitter()
    import pandas as pd

    fitter.params_ = pd.Series({"r": params.r, "alpha": params.alpha, "a": params.a, "b": params.b})
    for x in range(6):
        assert pmf[3, x] == pytest.approx(
            float(fitter.probability_of_n_purchases_up_to_time(39.0, x)), rel=1e-9
        )


def test_calibration_rows_weight_each_age() -> None:
    params = BgNbdParams(r=0.5, alpha=10.0, a=0.7, b=2.0)
    as_of = date(2026, 3, 31)
    groups = [(1, date(2026, 3, 1), 4), (3, date(2026, 1, 1), 2), (12, date(2026, 1, 1), 1)]
    rows = calibration_rows(groups, as_of, params, max_x=3)
    assert [r.observed for r in rows] == [4, 0, 2, 1]
    pmf = bgnbd_pmf(params, np.array([30.0, 89.0]), 3)
    expected = 4 * pmf[0] + 3 * pmf[1]
    assert [r.expected for r in rows] == pytest.approx(expected.tolist())
    assert sum(r.expected for r in rows) == pytest.approx(7.0)
