"""Pure scoring, outcome bands, thresholds, percentiles and calibration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.errors import Invalid
from siyu.models.talent import AssessmentOutcome as O
from siyu.talent.assessment_logic import (
    CalibrationRow,
    calibrate,
    outcome_for,
    parse_thresholds,
    percentiles,
    score,
)
from siyu.talent.competency import DEFAULT_DIMENSIONS
from siyu.talent.contract import Dimension, OutcomeThresholds

T = OutcomeThresholds()
ANCHORS = ("1", "2", "3", "4", "5")


def dim(code: str, weight: int) -> Dimension:
    return Dimension(code, f"维度{code}", f"Dim {code}", weight, ANCHORS)


def all_scores(value: int) -> dict[str, int]:
    return {d.code: value for d in DEFAULT_DIMENSIONS}


# --- bands ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weighted", "expected"),
    [
        (5.0, O.promote),
        (4.2, O.promote),  # exactly at promote_min
        (4.1999, O.keep),
        (3.4, O.keep),  # exactly at keep_min
        (3.3999, O.transfer),
        (2.6, O.transfer),  # exactly at transfer_min
        (2.5999, O.exit),
        (1.0, O.exit),
    ],
)
def test_every_band_boundary(weighted: float, expected: O) -> None:
    assert outcome_for(weighted, T) is expected


def test_boundaries_reached_by_real_scores() -> None:
    # Two dimensions 60/40: 0.6a + 0.4b hits the thresholds exactly for some integer pairs.
    dims = [dim("a", 60), dim("b", 40)]
    cuts = OutcomeThresholds(promote_min=4.6, keep_min=3.4, transfer_min=2.6)
    assert score(dims, {"a": 5, "b": 4}, cuts).outcome is O.promote  # 4.6 exactly
    assert score(dims, {"a": 3, "b": 4}, cuts).outcome is O.keep  # 3.4 exactly
    assert score(dims, {"a": 2, "b": 4}, cuts).outcome is O.transfer  # 2.8
    assert score(dims, {"a": 3, "b": 2}, cuts).outcome is O.transfer  # 2.6 exactly
    assert score(dims, {"a": 2, "b": 3}, cuts).outcome is O.exit  # 2.4


def test_seed_003_rule_high_upper_middle_lower_middle_low() -> None:
    # 分值越高进；越低退；中等偏上留；中等偏下转.
    assert score(DEFAULT_DIMENSIONS, all_scores(5), T).outcome is O.promote
    assert score(DEFAULT_DIMENSIONS, all_scores(4), T).outcome is O.keep
    assert score(DEFAULT_DIMENSIONS, all_scores(3), T).outcome is O.transfer
    assert score(DEFAULT_DIMENSIONS, all_scores(2), T).outcome is O.exit
    assert score(DEFAULT_DIMENSIONS, all_scores(1), T).outcome is O.exit


def test_weighted_mean_and_explanation() -> None:
    scores = {
        "user_thinking": 5,
        "learning": 3,
        "execution": 4,
        "business_analysis": 2,
        "product_selection": 4,
    }
    result = score(DEFAULT_DIMENSIONS, scores, T)
    expected = (25 * 5 + 15 * 3 + 25 * 4 + 20 * 2 + 15 * 4) / 100
    assert result.weighted_score == round(expected, 2) == 3.7
    assert result.outcome is O.keep
    assert "3.70" in result.explanation_zh and "“留”" in result.explanation_zh
    assert "3.40" in result.explanation_zh and "4.20" in result.explanation_zh
    assert "用户运营能力（用户思维）" in result.explanation_zh and "业务分析能力" in result.explanation_zh
    assert "Weighted score 3.70" in result.explanation_en and "keep" in result.explanation_en
    assert "Strongest: User thinking (5" in result.explanation_en
    assert "weakest: Business analysis (2" in result.explanation_en


def test_uniform_scores_say_so() -> None:
    result = score(DEFAULT_DIMENSIONS, all_scores(3), T)
    assert "Every dimension scored 3" in result.explanation_en and result.notes == ("uniform",)


def test_custom_dimensions_and_weights() -> None:
    dims = [dim("a", 70), dim("b", 20), dim("c", 10)]
    result = score(dims, {"a": 5, "b": 1, "c": 1}, T)
    assert result.weighted_score == 3.8 and result.outcome is O.keep
    flipped = score([dim("a", 10), dim("b", 20), dim("c", 70)], {"a": 5, "b": 1, "c": 1}, T)
    assert flipped.weighted_score == 1.4 and flipped.outcome is O.exit


def test_compare_unrounded_score() -> None:
    cuts = OutcomeThresholds(promote_min=4.995, keep_min=3.4, transfer_min=2.6)
    assert score([dim("a", 1), dim("b", 99)], {"a": 4, "b": 5}, cuts).outcome is O.keep  # 4.99 < 4.995
    # Weights 1 and 2: (4 + 2·5) ÷ 3 = 4.6667, shown as 4.67 but below a 4.67 promote line.
    result = score([dim("a", 1), dim("b", 2)], {"a": 4, "b": 5}, OutcomeThresholds(4.67, 3.4, 2.6))
    assert result.weighted_score == 4.67 and result.outcome is O.keep
    assert "rounding_crosses_threshold" in result.notes and "4.6667" in result.explanation_en
    plain = score([dim("a", 1), dim("b", 2)], {"a": 4, "b": 5}, OutcomeThresholds(4.6, 3.4, 2.6))
    assert plain.outcome is O.promote and plain.notes == ()


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({"a": 3}, "scores.b: missing"),
        ({"a": 3, "b": 3, "x": 2}, "scores.x: not a dimension"),
        ({"a": 0, "b": 3}, "scores.a: 0 is not a whole score 1..5"),
        ({"a": 3, "b": 6}, "scores.b: 6 is not a whole score 1..5"),
        ({"a": 3, "b": True}, "scores.b: True"),
        ({"a": 3.5, "b": 3}, "scores.a: 3.5"),
    ],
)
def test_invalid_scores_name_the_dimension(scores: dict[str, int], message: str) -> None:
    with pytest.raises(Invalid, match=message.replace(".", r"\.")):
        score([dim("a", 50), dim("b", 50)], scores, T)


# --- thresholds ----------------------------------------------------------------------------------------


def test_parse_thresholds() -> None:
    assert parse_thresholds(None) == T
    assert parse_thresholds({"promote_min": "4.5", "keep_min": 3.5, "transfer_min": 2}) == OutcomeThresholds(
        4.5, 3.5, 2.0
    )
    assert parse_thresholds({"keep_min": 3.0}) == OutcomeThresholds(4.2, 3.0, 2.6)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"promote_min": 3.0, "keep_min": 3.0, "transfer_min": 2.0}, "decrease strictly"),
        ({"promote_min": 3.0, "keep_min": 3.5, "transfer_min": 2.0}, "decrease strictly"),
        ({"promote_min": 5.5}, r"thresholds\.promote_min: 5\.5 is outside"),
        ({"transfer_min": 0.5}, r"thresholds\.transfer_min: 0\.5 is outside"),
        ({"keep_min": "abc"}, r"thresholds\.keep_min: 'abc' is not a number"),
        ({"keep_min": float("nan")}, r"thresholds\.keep_min"),
        ({"extra": 1}, "unknown key 'extra'"),
    ],
)
def test_parse_thresholds_rejects(raw: dict[str, object], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        parse_thresholds(raw)


# --- monotonicity --------------------------------------------------------------------------------------

RANK = {O.exit: 0, O.transfer: 1, O.keep: 2, O.promote: 3}


@given(
    weights=st.lists(st.integers(1, 60), min_size=1, max_size=6),
    data=st.data(),
    cuts=st.lists(st.floats(1, 5, allow_nan=False), min_size=3, max_size=3, unique=True),
)
def test_outcome_is_monotone_in_every_score(
    weights: list[int], data: st.DataObject, cuts: list[float]
) -> None:
    hi, mid, lo = sorted(cuts, reverse=True)
    thresholds = OutcomeThresholds(hi, mid, lo)
    dims = [dim(f"d{n}", w) for n, w in enumerate(weights)]
    scores = {d.code: data.draw(st.integers(1, 5)) for d in dims}
    base = score(dims, scores, thresholds)
    for d in dims:
        if scores[d.code] < 5:
            raised = score(dims, {**scores, d.code: scores[d.code] + 1}, thresholds)
            assert RANK[raised.outcome] >= RANK[base.outcome]
            assert raised.weighted_score >= base.weighted_score


# --- percentiles ---------------------------------------------------------------------------------------


def test_percentiles_with_ties_and_direction() -> None:
    # Higher is better: 10 < 20 = 20 < 40 → ranks 1, 2.5, 2.5, 4 → (r − 1) ÷ 3.
    assert percentiles({1: 10.0, 2: 20.0, 3: 20.0, 4: 40.0, 5: None}) == {
        1: 0.0,
        2: 0.5,
        3: 0.5,
        4: 1.0,
        5: None,
    }
    # Lower is better (e.g. response seconds): the fastest is best.
    assert percentiles({1: 30.0, 2: 90.0, 3: 30.0}, higher_is_better=False) == {1: 0.75, 2: 0.0, 3: 0.75}
    assert percentiles({1: 5.0, 2: None}) == {1: None, 2: None}
    assert percentiles({1: 5.0, 2: 5.0}) == {1: 0.5, 2: 0.5}


# --- calibration ---------------------------------------------------------------------------------------


def row(aid: int, unit: int, team: str, weighted: float | None, evidence: float | None) -> CalibrationRow:
    outcome = None if weighted is None else outcome_for(weighted, T)
    return CalibrationRow(aid, 100 + aid, f"员工{aid}", unit, team, "guide", weighted, outcome, evidence)


def test_calibration_distribution_per_team_and_overall() -> None:
    rows = [
        row(1, 10, "A队", 4.5, 0.9),
        row(2, 10, "A队", 3.5, 0.5),
        row(3, 10, "A队", None, 0.2),
        row(4, 20, "B队", 2.0, 0.1),
        row(5, 20, "B队", 2.8, 0.4),
    ]
    cal = calibrate(rows)
    a, b = cal.teams
    assert (a.name, a.total, a.pending) == ("A队", 3, 1)
    assert a.counts == {O.promote: 1, O.keep: 1, O.transfer: 0, O.exit: 0}
    assert a.mean == 4.0 and a.spread == 0.5 and (a.low, a.high) == (3.5, 4.5)
    assert b.counts == {O.promote: 0, O.keep: 0, O.transfer: 1, O.exit: 1} and b.mean == 2.4
    assert cal.overall.total == 5 and cal.overall.pending == 1
    assert sum(cal.overall.counts.values()) == 4 and cal.overall.share(O.exit) == 0.25
    assert cal.outliers == ()


def test_calibration_outliers_both_ways() -> None:
    rows = [
        row(1, 10, "A队", 4.8, 0.1),  # best score, weak evidence
        row(2, 10, "A队", 3.6, 0.6),
        row(3, 20, "B队", 3.0, 0.5),
        row(4, 20, "B队", 1.8, 0.95),  # worst score, strong evidence
        row(5, 20, "B队", 2.9, None),  # no evidence: never an outlier
    ]
    cal = calibrate(rows, outlier_gap=0.5)
    kinds = {o.row.assessment_id: o.kind for o in cal.outliers}
    assert kinds == {1: "score_above_evidence", 4: "score_below_evidence"}
    high = next(o for o in cal.outliers if o.row.assessment_id == 1)
    assert high.score_percentile == 1.0 and high.gap == pytest.approx(0.9)
    assert "得分高、证据低" in high.explanation_zh and "scored high, evidence low" in high.explanation_en
    low = next(o for o in cal.outliers if o.row.assessment_id == 4)
    assert low.score_percentile == 0.0 and "得分低、证据高" in low.explanation_zh
    # Score rank among the five scored rows: 1.8 < 2.9 < 3.0 < 3.6 < 4.8.
    assert cal.score_percentiles[3] == 0.5
    # A gap exactly at the threshold counts; just under it does not.
    at_gap = calibrate([row(1, 1, "A", 4.0, 0.5), row(2, 1, "A", 2.0, 0.5)], outlier_gap=0.5)
    assert {o.row.assessment_id for o in at_gap.outliers} == {1, 2}
    under = calibrate([row(1, 1, "A", 4.0, 0.51), row(2, 1, "A", 2.0, 0.49)], outlier_gap=0.5)
    assert under.outliers == ()


def test_calibration_rejects_bad_gap() -> None:
    with pytest.raises(Invalid, match="outlier gap"):
        calibrate([], outlier_gap=0)
