"""Pareto/NBD: the 2F1 series against numerical integration, analytic gradient, collapse, recovery, guards."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from siyu.errors import Invalid
from siyu.insights.bgnbd import collapse
from siyu.insights.contract import ParetoNbdParams
from siyu.insights.paretonbd import (
    fit_paretonbd,
    paretonbd_expected_purchases,
    paretonbd_loglik,
    paretonbd_p_alive,
    paretonbd_rows_loglik,
)

TRUE = ParetoNbdParams(r=0.9, alpha=25.0, s=0.7, beta=120.0)  # days


def simulate_paretonbd(params: ParetoNbdParams, n: int, seed: int) -> tuple[np.ndarray, ...]:
    """(x, t_x, T) in whole days: Poisson(λ) purchases until an exponential(μ) lifetime ends."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    mu = rng.gamma(params.s, 1 / params.beta, n)
    T = rng.integers(1, 731, n).astype(float)
    end = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * end).astype(float)
    # Given x purchases in (0, end], the last one is the max of x uniforms on (0, end].
    t_x = np.where(x > 0, end * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    return x, np.floor(t_x), T


def _brute_loglik(p: ParetoNbdParams, x: float, t_x: float, T: float) -> float:
    """ln L with the dropout integral done by quadrature (no 2F1 at all)."""
    from scipy.special import gammaln

    def integrand(tau: float) -> float:
        return float((p.alpha + tau) ** -(p.r + x) * (p.beta + tau) ** -(p.s + 1))

    died = p.s * integrate.quad(integrand, t_x, T, epsabs=0, epsrel=1e-13)[0] if t_x < T else 0.0
    alive = (p.alpha + T) ** -(p.r + x) * (p.beta + T) ** -p.s
    head = gammaln(p.r + x) - gammaln(p.r) + p.r * np.log(p.alpha) + p.s * np.log(p.beta)
    return float(head + np.log(alive + died))


@pytest.mark.parametrize(
    "params",
    [
        ParetoNbdParams(r=0.55, alpha=10.58, s=0.61, beta=11.67),  # α < β, CDNOW
        ParetoNbdParams(r=2.0, alpha=300.0, s=1.5, beta=3.0),  # α ≫ β: z close to 1
        ParetoNbdParams(r=0.3, alpha=2.0, s=0.2, beta=900.0),  # β ≫ α: z close to 1 the other way
        ParetoNbdParams(r=1.0, alpha=50.0, s=1.0, beta=50.0),  # α = β: z = 0
    ],
)
def test_loglik_equals_quadrature(params: ParetoNbdParams) -> None:
    rows = [(0.0, 0.0, 30.0), (1.0, 3.0, 30.0), (5.0, 29.0, 30.0), (60.0, 500.0, 700.0), (2.0, 700.0, 700.0)]
    x, t_x, T = (np.array(c) for c in zip(*rows, strict=True))
    ours = paretonbd_loglik(params, x, t_x, T)
    brute = [_brute_loglik(params, *row) for row in rows]
    np.testing.assert_allclose(ours, brute, rtol=1e-10)


def test_gradient_matches_finite_differences() -> None:
    x, t_x, T = simulate_paretonbd(TRUE, 3000, seed=1)
    for theta in (np.log([0.55, 10.58, 0.61, 11.67]), np.log([2.0, 300.0, 1.5, 3.0])):
        _, grad = paretonbd_rows_loglik(theta, x, t_x, T)
        h = 1e-6
        for i in range(4):
            e = np.zeros(4)
            e[i] = h
            numeric = (
                paretonbd_rows_loglik(theta + e, x, t_x, T)[0].sum()
                - paretonbd_rows_loglik(theta - e, x, t_x, T)[0].sum()
            ) / (2 * h)
            assert grad[:, i].sum() == pytest.approx(numeric, rel=1e-5, abs=1e-4)


def test_collapse_and_recovery() -> None:
    x, t_x, T = simulate_paretonbd(TRUE, 30_000, seed=2)
    theta = np.log([TRUE.r, TRUE.alpha, TRUE.s, TRUE.beta])
    (ux, ut, uT), w, _ = collapse(x, t_x, T)
    assert w @ paretonbd_rows_loglik(theta, ux, ut, uT)[0] == pytest.approx(
        paretonbd_rows_loglik(theta, x, t_x, T)[0].sum(), rel=1e-12
    )
    fit = fit_paretonbd(x, t_x, T)
    assert fit.converged and fit.unique_rows == ux.size
    assert fit.params.r == pytest.approx(TRUE.r, rel=0.15)
    assert fit.params.alpha == pytest.approx(TRUE.alpha, rel=0.2)
    # s and β are weakly identified over two years; their ratio (mean dropout rate) is pinned better.
    assert fit.params.s / fit.params.beta == pytest.approx(TRUE.s / TRUE.beta, rel=0.3)


def test_scores() -> None:
    p = ParetoNbdParams(r=0.55, alpha=10.58, s=0.61, beta=11.67)
    alive = paretonbd_p_alive(p, [0.0, 5.0, 5.0], [0.0, 38.0, 5.0], [38.0, 38.0, 38.0])
    for i, (x, t_x, T) in enumerate([(0.0, 0.0, 38.0), (5.0, 38.0, 38.0), (5.0, 5.0, 38.0)]):
        # P(alive) = the alive term's share: exp(ln L with the died term removed − ln L).
        alive_only = (p.alpha + T) ** -(p.r + x) * (p.beta + T) ** -p.s
        head = _brute_loglik(p, x, t_x, T) - np.log(alive_only)
        from scipy.special import gammaln

        head -= gammaln(p.r + x) - gammaln(p.r) + p.r * np.log(p.alpha) + p.s * np.log(p.beta)
        assert alive[i] == pytest.approx(np.exp(-head), rel=1e-9)
    assert alive[1] > alive[2] and 0 < alive[2] < 1
    # t_x = T: nothing could have happened unseen, so the customer is surely alive.
    assert paretonbd_p_alive(p, [3.0], [20.0], [20.0])[0] == pytest.approx(1.0)
    e = paretonbd_expected_purchases(p, [0.0, 10.0, 100.0], [2.0] * 3, [30.0] * 3, [38.0] * 3)
    assert e[0] == 0.0 and e[1] < e[2]
    s1 = ParetoNbdParams(r=0.55, alpha=10.58, s=1.0, beta=11.67)
    near = ParetoNbdParams(r=0.55, alpha=10.58, s=1.0 + 1e-7, beta=11.67)
    assert paretonbd_expected_purchases(s1, 10.0, [2.0], [30.0], [38.0])[0] == pytest.approx(
        paretonbd_expected_purchases(near, 10.0, [2.0], [30.0], [38.0])[0], rel=1e-6
    )


def test_guards() -> None:
    with pytest.raises(Invalid, match=r"t_x\[0\] = 3.0 is after T\[0\] = 2.0"):
        fit_paretonbd([1.0], [3.0], [2.0])
    with pytest.raises(Invalid, match="no customer has a repeat purchase"):
        fit_paretonbd([0.0, 0.0], [0.0, 0.0], [5.0, 9.0])
