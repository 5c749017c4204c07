"""The abuse classifier: documented hash, vectorised scoring against a brute-force sum, the detector."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from siyu.compliance import classifier as clf
from siyu.compliance.contract import MessageIn
from siyu.compliance.engine import build_engine
from siyu.models.compliance import ComplianceCategory, Severity

ROOT = Path(__file__).resolve().parents[2]
MASK = (1 << 64) - 1
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def _slot(gram: str) -> int:
    """The documented hash, written out with Python integers (independent of the NumPy code)."""
    ks = (int(clf.K1), int(clf.K2), int(clf.K3))
    key = sum(ord(c) * ks[i] for i, c in enumerate(gram)) + len(gram) * int(clf.K0)
    return ((key & MASK) * int(clf.M) & MASK) >> (64 - clf.HASH_BITS)


def _brute_logit(model: clf.AbuseClassifier, text: str) -> float:
    grams = [text[i : i + n] for n in clf.NGRAM_SIZES for i in range(len(text) - n + 1)]
    if not grams:
        return model.bias
    return model.bias + sum(float(model.weights[_slot(g)]) for g in grams) / len(grams) ** 0.5


TEXTS = ["", "a", "你好", "你是不是傻逼", "亲在的请问有什么可以帮您", "", "x\x00y", "滚", "abc" * 30, ""]


def test_hash_is_the_documented_one() -> None:
    rows, slots = clf.hashed_ngrams(["ab", "", "傻逼c"])
    expected = {(0, _slot(g)) for g in ("a", "b", "ab")} | {
        (2, _slot(g)) for g in ("傻", "逼", "c", "傻逼", "逼c", "傻逼c")
    }
    assert sorted(zip(rows.tolist(), slots.tolist(), strict=True)) == sorted(expected)
    assert len(rows) == 9  # no n-gram crosses a message boundary, the empty message has none


def test_vectorised_scores_match_a_brute_force_sum() -> None:
    model = clf.AbuseClassifier.load()
    got = model.scores_normalised(TEXTS)
    texts = [t.replace("\x00", " ") for t in TEXTS]
    want = np.array([_brute_logit(model, t) for t in texts])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # the sparse training matrix gives the same scores
    sparse_scores = clf.feature_matrix(texts) @ model.weights.astype(np.float64) + model.bias
    np.testing.assert_allclose(got, sparse_scores, rtol=1e-5, atol=1e-5)
    assert model.scores_normalised([]).shape == (0,)


def test_weights_are_a_plain_float32_array_with_metadata() -> None:
    path = clf.WEIGHTS_PATH
    assert path.stat().st_size <= 1_100_000
    weights = np.load(path, allow_pickle=False)
    assert weights.dtype == np.float32 and weights.shape == (1 << 18,)
    meta = json.loads(clf.META_PATH.read_text(encoding="utf-8"))
    assert meta["hash_bits"] == 18 and meta["ngrams"] == [1, 2, 3]
    assert 0.0 < meta["threshold"] < 1.0
    assert clf.AbuseClassifier.load() is clf.AbuseClassifier.load()  # cached


def test_probabilities_separate_insults_from_service_chat() -> None:
    model = clf.AbuseClassifier.load()
    insults = ["你是不是傻逼啊，听不懂人话吗", "你个穷鬼买不起就别问", "黑人都是垃圾"]
    service = ["您好，请问有什么可以帮您？", "好的，我帮您查一下物流", "退货需要七天内申请哦"]
    probs = model.probabilities(insults + service)
    assert probs.shape == (6,)
    assert (probs[:3] >= model.threshold).all(), probs
    assert (probs[3:] < model.threshold).all(), probs


def _msg(msgid: str, text: str | None, *, staff: bool = True, msg_type: str = "text") -> MessageIn:
    return MessageIn(msgid=msgid, sender="s", msg_type=msg_type, text=text, sent_at=NOW, from_staff=staff)


def test_detector_judges_staff_text_only() -> None:
    det = clf.ClassifierDetector(severity=Severity.high)
    messages = [
        _msg("1", "你是不是傻逼啊，听不懂人话吗"),
        _msg("2", "你是不是傻逼啊，听不懂人话吗", staff=False),
        _msg("3", None, msg_type="image"),
        _msg("4", "好的，我帮您查一下物流"),
        _msg("5", "   "),
    ]
    found = det.detect(messages)
    assert [f.msgid for f in found] == ["1"]
    f = found[0]
    assert f.category is ComplianceCategory.abuse and f.detector == "classifier"
    assert (f.start, f.end) == (0, len(messages[0].text or ""))
    assert f.severity is Severity.high and f.score is not None and f.score >= det.threshold
    assert det.detect_normalised(messages, [None] * len(messages)) == found
    strict = clf.ClassifierDetector(threshold=1.01)
    assert strict.detect(messages) == []


def test_engine_composes_the_classifier() -> None:
    engine = build_engine([], classifier=clf.AbuseClassifier.load())
    found = engine.detect([_msg("1", "黑人都是垃圾"), _msg("2", "您好")])
    assert [(f.msgid, f.detector) for f in found if f.category is ComplianceCategory.abuse] == [
        ("1", "classifier")
    ]


def _tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("train_abuse", ROOT / "tools" / "train_abuse_classifier.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_abuse"] = module
    spec.loader.exec_module(module)
    return module


def test_training_gradient_and_toy_fit() -> None:
    tool = _tool()
    texts = ["你真笨", "笨死了你", "蠢货笨蛋", "您好呀", "谢谢您", "好的您稍等"] * 3
    y = np.array([1, 1, 1, 0, 0, 0] * 3, dtype=np.int8)
    x = clf.feature_matrix(texts)
    w, b = tool.fit(x, y, 1e-3)
    pred = (x @ w + b) > 0
    assert (pred == y.astype(bool)).all()
    # the analytic gradient agrees with finite differences on a small dense problem
    small = x[:, np.unique(x.indices)].tocsr()
    d = small.shape[1]
    rng = np.random.default_rng(0)
    theta = rng.normal(size=d + 1) * 0.1

    def loss(t: np.ndarray) -> float:
        z = small @ t[:d] + t[d]
        return float(np.mean(np.logaddexp(0, z) - y * z) + 0.5 * 1e-3 * t[:d] @ t[:d])

    def grad(t: np.ndarray) -> np.ndarray:
        z = small @ t[:d] + t[d]
        r = (1 / (1 + np.exp(-z)) - y) / len(y)
        return np.concatenate([small.T @ r + 1e-3 * t[:d], [r.sum()]])

    assert optimize.check_grad(loss, grad, theta) < 1e-5
    metrics = tool.prf(np.array([True, True, False, False]), np.array([1, 0, 1, 0], dtype=np.int8))
    assert (metrics["tp"], metrics["fp"], metrics["fn"], metrics["precision"]) == (1, 1, 1, 0.5)


COLD = ROOT.parent / "shared" / "datasets" / "cold"


@pytest.mark.skipif(
    not (COLD / "test.csv").exists(), reason="COLD dataset not present at ../shared/datasets/cold"
)
def test_cold_test_split_figures_match_the_metadata() -> None:
    tool = _tool()
    texts, labels = tool.read_split(COLD, "test")
    model = clf.AbuseClassifier.load()
    got = tool.prf(model.probabilities(texts) >= model.threshold, labels)
    meta = model.meta["metrics"]["test"]
    for key in ("precision", "recall", "f1"):
        assert round(got[key], 3) == round(meta[key], 3), (key, got, meta)
    assert (got["tp"], got["fp"], got["fn"]) == (meta["tp"], meta["fp"], meta["fn"])
    # Floor: COLD's published baselines reach ≈ 0.72–0.81 accuracy on test; a hashed-n-gram linear model
    # measured 0.76 F1 here. 0.70 catches a broken hash, normaliser drift or a mis-saved array.
    assert got["f1"] >= 0.70
