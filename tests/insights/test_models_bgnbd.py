"""BG/NBD: analytic gradient, collapsed fit, recovery of simulated parameters, scores and input guards."""

from __future__ import annotations

import numpy as np
import pytest

from siyu.errors import Invalid
from siyu.insights.bgnbd import (
    bgnbd_expected_gap,
    bgnbd_expected_purchases,
    bgnbd_loglik,
    bgnbd_p_alive,
    bgnbd_rows_loglik,
    bgnbd_weighted_loglik,
    collapse,
    fit_bgnbd,
)
from siyu.insights.contract import BgNbdParams

TRUE = BgNbdParams(r=0.8, alpha=30.0, a=0.9, b=6.0)  # days


def simulate_bgnbd(params: BgNbdParams, n: int, seed: int, max_T: int = 730) -> tuple[np.ndarray, ...]:
    """(x, t_x, T) in whole days from the BG/NBD story: Poisson purchases, dropout after each with prob p."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    T = rng.integers(0, max_T + 1, n).astype(float)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1.0 / lam[idx])
        bought = idx[now[idx] <= T[idx]]
        alive[idx[now[idx] > T[idx]]] = False
        x[bought] += 1
        t_x[bought] = now[bought]
        alive[bought[rng.random(bought.size) < p[bought]]] = False
    return x, np.floor(t_x), T


def _numeric_gradient(fn, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        out[i] = (fn(theta + e) - fn(theta - e)) / (2 * h)
    return out


@pytest.mark.parametrize("theta", [np.log([0.24, 4.4, 0.79, 2.4]), np.log([2.0, 80.0, 3.0, 0.5])])
def test_gradient_matches_finite_differences(theta: np.ndarray) -> None:
    x, t_x, T = simulate_bgnbd(TRUE, 3000, seed=1)
    _, grad = bgnbd_rows_loglik(theta, x, t_x, T)
    numeric = _numeric_gradient(lambda th: float(bgnbd_rows_loglik(th, x, t_x, T)[0].sum()), theta)
    np.testing.assert_allclose(grad.sum(axis=0), numeric, rtol=1e-5, atol=1e-4)


def test_collapsed_loglik_equals_the_plain_sum() -> None:
    x, t_x, T = simulate_bgnbd(TRUE, 5000, seed=2)
    (ux, ut, uT), weights, inverse = collapse(x, t_x, T)
    assert ux.size < x.size and weights.sum() == x.size
    np.testing.assert_array_equal(ux[inverse], x)
    np.testing.assert_array_equal(uT[inverse], T)
    theta = np.log([TRUE.r, TRUE.alpha, TRUE.a, TRUE.b])
    plain = bgnbd_rows_loglik(theta, x, t_x, T)[0].sum()
    collapsed = weights @ bgnbd_rows_loglik(theta, ux, ut, uT)[0]
    assert collapsed == pytest.approx(plain, rel=1e-12)
    # The fitter's weighted sums (per-value binning) equal the per-row sums, value and gradient, in days and weeks.
    for scale in (1.0, 7.0):
        total, grad = bgnbd_weighted_loglik(theta, weights, ux, ut / scale, uT / scale)
        rows_ll, rows_grad = bgnbd_rows_loglik(theta, ux, ut / scale, uT / scale)
        assert total == pytest.approx(weights @ rows_ll, rel=1e-12)
        np.testing.assert_allclose(grad, weights @ rows_grad, rtol=1e-10)
    # Same rows as np.unique on the stacked columns.
    rows, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    np.testing.assert_array_equal(np.column_stack([ux, ut, uT]), rows)
    np.testing.assert_array_equal(weights, counts)


def test_collapse_of_fractional_columns_takes_the_general_path() -> None:
    """Weeks are not whole numbers: the lexsort path must give np.unique's rows, counts and inverse too."""
    x, t_x, T = simulate_bgnbd(TRUE, 5000, seed=7)
    (ux, ut, uT), weights, inverse = collapse(x, t_x / 7, T / 7)
    rows, back, counts = np.unique(
        np.column_stack([x, t_x / 7, T / 7]), axis=0, return_inverse=True, return_counts=True
    )
    np.testing.assert_array_equal(np.column_stack([ux, ut, uT]), rows)
    np.testing.assert_array_equal(weights, counts)
    np.testing.assert_array_equal(inverse, back.ravel())


def test_fit_recovers_simulated_parameters_and_weights_equal_repeats() -> None:
    x, t_x, T = simulate_bgnbd(TRUE, 40_000, seed=3)
    fit = fit_bgnbd(x, t_x, T)
    assert fit.converged and fit.n == 40_000 and fit.unique_rows < 40_000
    p = fit.params
    for name in ("r", "alpha", "a", "b"):
        assert getattr(p, name) == pytest.approx(getattr(TRUE, name), rel=0.15), name
    assert fit.loglik == pytest.approx(bgnbd_loglik(p, x, t_x, T).sum(), rel=1e-12)
    # Weights are multiplicities: doubling every customer is the same as a weight of 2.
    half = slice(0, 20_000)
    doubled = fit_bgnbd(np.tile(x[half], 2), np.tile(t_x[half], 2), np.tile(T[half], 2))
    weighted = fit_bgnbd(x[half], t_x[half], T[half], weights=np.full(20_000, 2.0))
    for name in ("r", "alpha", "a", "b"):
        assert getattr(weighted.params, name) == pytest.approx(getattr(doubled.params, name), rel=1e-6)


def test_fit_is_unit_free() -> None:
    """Days and weeks give the same shape parameters; α scales with the unit."""
    x, t_x, T = simulate_bgnbd(TRUE, 20_000, seed=4)
    days = fit_bgnbd(x, t_x, T).params
    weeks = fit_bgnbd(x, t_x / 7, T / 7).params
    assert weeks.alpha * 7 == pytest.approx(days.alpha, rel=1e-5)
    assert weeks.r == pytest.approx(days.r, rel=1e-5) and weeks.b == pytest.approx(days.b, rel=1e-5)


def test_scores_against_numerical_integration() -> None:
    """P(alive) equals the alive share of the history's likelihood, integrated numerically over λ.

    Given λ and p: alive at T has likelihood (1−p)^x λ^x e^(−λT); dead after the last purchase
    p(1−p)^(x−1) λ^x e^(−λ t_x). The p-integrals are Beta functions; λ is integrated by quadrature.
    """
    from scipy import integrate, stats
    from scipy.special import beta as beta_fn

    p = BgNbdParams(r=0.5, alpha=20.0, a=0.8, b=3.0)
    for x, t_x, T in [(0.0, 0.0, 100.0), (3.0, 40.0, 100.0), (8.0, 95.0, 100.0), (1.0, 5.0, 300.0)]:

        def over_lam(t: float, x: float = x) -> float:
            dens = lambda lam: lam**x * np.exp(-lam * t) * stats.gamma.pdf(lam, p.r, scale=1 / p.alpha)  # noqa: E731
            return float(integrate.quad(dens, 0, np.inf, epsabs=0, epsrel=1e-10, limit=200)[0])

        alive = beta_fn(p.a, p.b + x) / beta_fn(p.a, p.b) * over_lam(T)
        dead = beta_fn(p.a + 1, p.b + x - 1) / beta_fn(p.a, p.b) * over_lam(t_x) if x > 0 else 0.0
        ours = bgnbd_p_alive(p, [x], [t_x], [T])[0]
        assert ours == pytest.approx(alive / (alive + dead), rel=1e-7)
    e = bgnbd_expected_purchases(p, np.array([0.0, 10.0, 100.0, 1000.0]), [2.0] * 4, [50.0] * 4, [60.0] * 4)
    assert e[0] == 0.0 and np.all(np.diff(e) > 0)
    gap = bgnbd_expected_gap(p, [0.0, 4.0], [100.0, 100.0])
    np.testing.assert_allclose(gap, [(20.0 + 100.0) / 0.5, (20.0 + 100.0) / 4.5])


def test_expected_purchases_against_simulation() -> None:
    """E[Y(t) | x, t_x, T] equals the mean of simulated futures of customers sharing that history."""
    p = BgNbdParams(r=1.0, alpha=10.0, a=1.0, b=4.0)
    rng = np.random.default_rng(5)
    n = 400_000
    lam = rng.gamma(p.r, 1 / p.alpha, n)
    q = rng.beta(p.a, p.b, n)
    # Condition on x = 0 at T = 5 by importance weights: P(no purchase in T | λ) = exp(−λT).
    w = np.exp(-lam * 5.0)
    future = np.zeros(n)
    now = np.full(n, 5.0)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1 / lam[idx])
        inside = idx[now[idx] <= 15.0]
        alive[idx[now[idx] > 15.0]] = False
        future[inside] += 1
        alive[inside[rng.random(inside.size) < q[inside]]] = False
    expected = float(w @ future / w.sum())
    ours = bgnbd_expected_purchases(p, 10.0, [0.0], [0.0], [5.0])[0]
    assert ours == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"),
    [
        ([1.0, -1.0], [1.0, 0.0], [2.0, 2.0], "x[1]"),
        ([1.0, 2.0], [1.0, np.nan], [2.0, 2.0], "t_x[1]"),
        ([1.0, 2.0, 3.0], [1.0, 5.0, 1.0], [2.0, 4.0, 9.0], "t_x[1] = 5.0 is after T[1] = 4.0"),
        ([1.0], [1.0], [np.inf], "T[0]"),
        ([1.0], [1.0, 2.0], [3.0], "differ in length"),
        ([], [], [], "no customers"),
    ],
)
def test_bad_input_is_refused_naming_array_and_index(x: list, t_x: list, T: list, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(Invalid) as exc:
        fit_bgnbd(x, t_x, T)
    assert message in exc.value.message


def test_non_convergence_is_reported_not_raised() -> None:
    x, t_x, T = simulate_bgnbd(TRUE, 2000, seed=6)
    fit = fit_bgnbd(x, t_x, T, max_iterations=2)
    assert not fit.converged and fit.iterations == 2 and "ITERATIONS" in fit.message.upper()
    assert fit_bgnbd(x, t_x, T).converged


def test_nobody_repeating_is_refused() -> None:
    """Without a repeat purchase the likelihood only rises as r → 0: nothing to identify a and b from."""
    with pytest.raises(Invalid, match="no customer has a repeat purchase"):
        fit_bgnbd(np.zeros(500), np.zeros(500), np.linspace(1, 300, 500))
