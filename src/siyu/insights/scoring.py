"""The model step of a refresh: fit BG/NBD (+ Pareto/NBD) and Gamma-Gamma on the calibration set, score every buyer.

Time unit: days. The calibration set is every customer whose first counted purchase falls within
settings.model.history_days before the end of as_of: BG/NBD assumes each customer is watched from their
first purchase, so older customers are not cut to the window (that would turn them into "new" ones);
they are scored, with their whole history, by the parameters the recent cohorts gave. Above FIT_SAMPLE
customers the fits run on a seeded uniform sample of the calibration set (Pareto/NBD above PARETO_SAMPLE).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from siyu.errors import Invalid
from siyu.insights.bgnbd import bgnbd_expected_gap, bgnbd_expected_purchases, bgnbd_p_alive, fit_bgnbd
from siyu.insights.contract import BgNbdParams, GammaGammaParams, InsightSettings
from siyu.insights.gammagamma import clv, fit_gamma_gamma, gg_expected_value
from siyu.insights.paretonbd import fit_paretonbd
from siyu.insights.summary import PurchaseSummary, model_inputs

Progress = Callable[[str], None]

# Larger calibration sets are fitted on a seeded uniform sample of this many customers: the estimates
# standard errors are already ~1% at this size, and the fit's cost grows with the distinct histories.
# Pareto/NBD (recorded for comparison, not used for scores) costs ~30× BG/NBD per row, hence its own cap.
FIT_SAMPLE = 200_000
PARETO_SAMPLE = 5_000
# Fewer repeat buyers than this in the calibration set and the models are not fitted: with so few the
# estimates mean nothing and the optimiser wanders.
MIN_REPEAT_BUYERS = 50
_FIT_ERRORS = (Invalid, ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError)


class Steps:
    """Per-step wall-clock seconds, reported to an optional progress callback."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 3)


@dataclass
class Scores:
    """Per-customer model outputs (NaN where not scored), the fitted models and why any was skipped."""

    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_value_fen: np.ndarray
    clv_fen: np.ndarray
    expected_gap_days: np.ndarray
    models: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _nan(n: int) -> np.ndarray:
    return np.full(n, np.nan)


def _fit_record(fit: Any, params: dict[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {k: float(v) for k, v in params.items()}
    for name in ("loglik", "n", "unique_rows", "converged", "iterations", "message"):
        value = getattr(fit, name, None)
        if isinstance(value, str):
            if value:
                out[name] = value
        elif isinstance(value, bool | np.bool_):
            out[name] = bool(value)
        elif isinstance(value, int | np.integer):
            out[name] = int(value)
        elif value is not None:
            out[name] = float(value)
    return out


def fit_and_score(
    summary: PurchaseSummary, day: date, settings: InsightSettings, buyer: np.ndarray, steps: Steps
) -> Scores:
    """Fit the models on the calibration set and score every buyer; a model that cannot be fitted is skipped."""
    n = int(buyer.shape[0])
    out = Scores(_nan(n), _nan(n), _nan(n), _nan(n), _nan(n))
    cfg = settings.model
    x, t_x, big_t, m = (np.asarray(a, dtype=np.float64) for a in model_inputs(summary, day, unit_days=1.0))
    calib = buyer & (summary.first_day > day.toordinal() - cfg.history_days)
    repeat = calib & (x > 0)
    out.models = {
        "time_unit": "day",
        "calibration": {
            "history_days": cfg.history_days,
            "customers": int(calib.sum()),
            "repeat_buyers": int(repeat.sum()),
        },
        "bgnbd": None,
        "pareto_nbd": None,
        "gamma_gamma": None,
    }
    if int(repeat.sum()) < MIN_REPEAT_BUYERS:
        note = (
            f"models not fitted: {int(repeat.sum())} repeat buyers among the {int(calib.sum())} customers "
            f"who first bought in the last {cfg.history_days} days (at least {MIN_REPEAT_BUYERS} needed)"
        )
        out.models["skipped"] = note
        out.notes.append(note)
        return out
    fit_rows = sample(np.flatnonzero(calib), FIT_SAMPLE)
    out.models["calibration"]["fitted"] = int(fit_rows.size)
    bg = _fit_bgnbd(out, x[fit_rows], t_x[fit_rows], big_t[fit_rows], steps)
    if cfg.fit_pareto_nbd:
        rows = sample(fit_rows, PARETO_SAMPLE)
        _fit_pareto(out, x[rows], t_x[rows], big_t[rows], steps)
    spenders = fit_rows[(x[fit_rows] > 0) & (m[fit_rows] > 0)]
    gg = _fit_gg(out, x[spenders], m[spenders], steps)
    with steps.step("score"):
        _score(out, bg, gg, settings, buyer, x, t_x, big_t, m)
    return out


def sample(rows: np.ndarray, limit: int) -> np.ndarray:
    """rows itself when it has at most limit entries, else a seeded uniform sample of limit (sorted, repeatable)."""
    if rows.size <= limit:
        return rows
    return np.sort(np.random.default_rng(20_261_123).choice(rows, size=limit, replace=False))


def _fit_bgnbd(
    out: Scores, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, steps: Steps
) -> BgNbdParams | None:
    with steps.step("fit_bgnbd"):
        try:
            fit = fit_bgnbd(x, t_x, big_t)
        except _FIT_ERRORS as exc:
            out.models["bgnbd"] = {"error": str(exc)}
            out.notes.append(f"BG/NBD fit failed: {exc}")
            return None
    p = fit.params
    out.models["bgnbd"] = _fit_record(fit, {"r": p.r, "alpha": p.alpha, "a": p.a, "b": p.b})
    if not fit.converged:
        out.notes.append(
            f"BG/NBD did not converge after {fit.iterations} iterations: P(alive) and CLV left empty"
        )
        return None
    return p


def _fit_pareto(out: Scores, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, steps: Steps) -> None:
    with steps.step("fit_paretonbd"):
        try:
            fit = fit_paretonbd(x, t_x, big_t)
        except _FIT_ERRORS as exc:
            out.models["pareto_nbd"] = {"error": str(exc)}
            out.notes.append(f"Pareto/NBD fit failed: {exc}")
            return
    p = fit.params
    out.models["pareto_nbd"] = _fit_record(fit, {"r": p.r, "alpha": p.alpha, "s": p.s, "beta": p.beta})
    if not fit.converged:
        out.notes.append(f"Pareto/NBD did not converge after {fit.iterations} iterations")


def _fit_gg(out: Scores, x: np.ndarray, m: np.ndarray, steps: Steps) -> GammaGammaParams | None:
    with steps.step("fit_gamma_gamma"):
        try:
            fit = fit_gamma_gamma(x, m)
        except _FIT_ERRORS as exc:
            out.models["gamma_gamma"] = {"error": str(exc)}
            out.notes.append(f"Gamma-Gamma fit failed: {exc}")
            return None
    p = fit.params
    out.models["gamma_gamma"] = _fit_record(fit, {"p": p.p, "q": p.q, "v": p.v})
    if not fit.converged:
        out.notes.append(
            f"Gamma-Gamma did not converge after {fit.iterations} iterations: spend and CLV left empty"
        )
        return None
    if p.q <= 1:
        out.notes.append(f"Gamma-Gamma q={p.q:.3g} ≤ 1 has no finite mean spend: spend and CLV left empty")
        return None
    return p


def _score(
    out: Scores,
    bg: BgNbdParams | None,
    gg: GammaGammaParams | None,
    settings: InsightSettings,
    buyer: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    big_t: np.ndarray,
    m: np.ndarray,
) -> None:
    cfg = settings.model
    bx, bt, bT, bm = x[buyer], t_x[buyer], big_t[buyer], m[buyer]
    if bg is not None:
        out.p_alive[buyer] = bgnbd_p_alive(bg, bx, bt, bT)
        out.expected_purchases[buyer] = bgnbd_expected_purchases(bg, float(cfg.horizon_days), bx, bt, bT)
        out.expected_gap_days[buyer] = bgnbd_expected_gap(bg, bx, bT)
    if gg is not None:
        out.expected_value_fen[buyer] = gg_expected_value(gg, bx, bm)
    if bg is not None and gg is not None:
        out.clv_fen[buyer] = clv(
            bg,
            gg,
            bx,
            bt,
            bT,
            bm,
            horizon_days=cfg.clv_horizon_days,
            annual_discount_rate=cfg.annual_discount_rate,
            margin=cfg.margin,
        )
