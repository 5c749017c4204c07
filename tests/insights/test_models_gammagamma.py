"""Gamma-Gamma: analytic gradient, collapse, recovery from simulated spend, expected value, CLV, guards."""

from __future__ import annotations

import numpy as np
import pytest

from siyu.errors import Invalid
from siyu.insights.bgnbd import bgnbd_expected_purchases
from siyu.insights.contract import BgNbdParams, GammaGammaParams
from siyu.insights.gammagamma import clv, fit_gamma_gamma, gg_expected_value, gg_rows_loglik

TRUE = GammaGammaParams(p=6.0, q=4.0, v=15_000.0)  # fen


def simulate_spend(params: GammaGammaParams, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, m): x repeat purchases (0..9) and the mean of x Gamma(p, ν) spends, ν ~ Gamma(q, v)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, n).astype(float)
    nu = rng.gamma(params.q, 1.0 / params.v, n)
    total = rng.gamma(params.p * np.maximum(x, 1), 1.0 / nu)  # sum of x Gamma(p, ν) = Gamma(px, ν)
    m = np.where(x > 0, np.round(total / np.maximum(x, 1)), 0.0)
    return x, m


def test_gradient_matches_finite_differences() -> None:
    x, m = simulate_spend(TRUE, 3000, seed=1)
    keep = x > 0
    theta = np.log([3.0, 2.0, 9_000.0])
    _, grad = gg_rows_loglik(theta, x[keep], m[keep])
    h = 1e-6
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        numeric = (
            gg_rows_loglik(theta + e, x[keep], m[keep])[0].sum()
            - gg_rows_loglik(theta - e, x[keep], m[keep])[0].sum()
        ) / (2 * h)
        assert grad[:, i].sum() == pytest.approx(numeric, rel=1e-6, abs=1e-4)


def test_fit_recovers_parameters_and_ignores_one_time_buyers() -> None:
    x, m = simulate_spend(TRUE, 30_000, seed=2)
    fit = fit_gamma_gamma(x, m)
    assert fit.converged and fit.n == int((x > 0).sum())
    # p, q, v lie on a ridge (the mean spend pv/(q−1) is pinned); the mean is recovered closely.
    p = fit.params
    assert p.p * p.v / (p.q - 1) == pytest.approx(TRUE.p * TRUE.v / (TRUE.q - 1), rel=0.03)
    assert p.p == pytest.approx(TRUE.p, rel=0.1) and p.q == pytest.approx(TRUE.q, rel=0.2)
    keep = x > 0
    theta = np.log([p.p, p.q, p.v])
    assert fit.loglik == pytest.approx(gg_rows_loglik(theta, x[keep], m[keep])[0].sum(), rel=1e-12)
    assert fit.unique_rows < fit.n  # identical (x, m) rows were fitted once


def test_expected_value_shrinks_towards_the_population_mean() -> None:
    p = GammaGammaParams(p=6.25, q=3.74, v=15.44)
    population = p.p * p.v / (p.q - 1)
    ev = gg_expected_value(p, [0.0, 1.0, 50.0], [0.0, 100.0, 100.0])
    assert ev[0] == pytest.approx(population)
    assert population < ev[1] < ev[2] < 100.0
    w = p.p * 1.0 / (p.p * 1.0 + p.q - 1)
    assert ev[1] == pytest.approx((1 - w) * population + w * 100.0)
    with pytest.raises(Invalid, match=r"q = 0\.9"):
        gg_expected_value(GammaGammaParams(p=1.0, q=0.9, v=1.0), [1.0], [1.0])


def test_clv_is_the_discounted_sum_of_monthly_purchases() -> None:
    """CLV equals the formula written out by hand: 30-day periods, each discounted from its end."""
    bg = BgNbdParams(r=0.8, alpha=30.0, a=0.9, b=6.0)
    gg = GammaGammaParams(p=6.0, q=4.0, v=15_000.0)
    x, t_x, T, m = [3.0, 0.0, 3.0], [100.0, 0.0, 100.0], [200.0, 50.0, 200.0], [20_000.0, 0.0, 20_000.0]
    got = clv(bg, gg, x, t_x, T, m, horizon_days=100, annual_discount_rate=0.1, margin=0.4)
    ends = [30.0, 60.0, 90.0, 100.0]
    expected = np.zeros(3)
    previous = np.zeros(3)
    for end in ends:
        current = bgnbd_expected_purchases(bg, end, x, t_x, T)
        expected += (current - previous) / 1.1 ** (end / 365)
        previous = current
    expected *= 0.4 * gg_expected_value(gg, x, m)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[0] == got[2] and got[1] > 0
    # No discount and full margin: expected purchases over the horizon × expected value.
    plain = clv(bg, gg, x, t_x, T, m, horizon_days=100, annual_discount_rate=0.0, margin=1.0)
    np.testing.assert_allclose(
        plain, bgnbd_expected_purchases(bg, 100.0, x, t_x, T) * gg_expected_value(gg, x, m)
    )
    # The same customer measured in weeks has the same CLV.
    weeks = BgNbdParams(r=bg.r, alpha=bg.alpha / 7, a=bg.a, b=bg.b)
    in_weeks = clv(
        weeks,
        gg,
        x,
        np.array(t_x) / 7,
        np.array(T) / 7,
        m,
        horizon_days=100,
        annual_discount_rate=0.1,
        margin=0.4,
        unit_days=7.0,
    )
    np.testing.assert_allclose(in_weeks, got, rtol=1e-9)


def test_bad_spend_is_refused() -> None:
    with pytest.raises(Invalid, match=r"m\[1\] = 0.0 but x\[1\] = 2.0"):
        fit_gamma_gamma([1.0, 2.0], [10.0, 0.0])
    with pytest.raises(Invalid, match=r"m\[0\]"):
        fit_gamma_gamma([1.0], [np.nan])
    with pytest.raises(Invalid, match="no repeat buyers"):
        fit_gamma_gamma([0.0, 0.0], [0.0, 0.0])
