"""The abuse classifier: hashed character 1–3-grams of the normalised text and a logistic-regression model.

Features. Each message's normalised text is read as Unicode code points c[0..L). Every n-gram
(n = 1, 2, 3) starting at i is hashed with a fixed multiply-shift hash (documented so the weights
stay valid across Python versions and processes; Python's hash() is salted per process):

    key  = (c[i] * K1 + c[i+1] * K2 + c[i+2] * K3 + n * K0) mod 2**64   (missing terms are 0)
    slot = (key * M mod 2**64) >> (64 - 18)                            (2**18 buckets)

A message's feature vector counts its n-grams per slot, scaled by 1 / sqrt(number of n-grams) so
long and short messages score on the same scale. The score is sigmoid(bias + w · x).

Weights are a plain float32 array (abuse_weights.npy, loaded with allow_pickle=False) and a JSON
file beside it (bias, threshold, scheme, training figures) — written by tools/train_abuse_classifier.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from siyu.compliance.contract import Finding, MessageIn, Normalised
from siyu.compliance.normalise import BatchViews, normalise_many
from siyu.models.compliance import ComplianceCategory, Severity


def normalise_texts(texts: Sequence[str]) -> list[str]:
    """The normalised (keyword-view) texts the model reads, for a batch."""
    return [n.text for n in normalise_many(texts)]


HASH_BITS = 18
N_FEATURES = 1 << HASH_BITS
NGRAM_SIZES = (1, 2, 3)
# Odd 64-bit constants of the documented hash (splitmix64 / golden-ratio family).
K0 = np.uint64(0x9E3779B97F4A7C15)
K1 = np.uint64(0xBF58476D1CE4E5B9)
K2 = np.uint64(0x94D049BB133111EB)
K3 = np.uint64(0xD6E8FEB86659FD93)
M = np.uint64(0xFF51AFD7ED558CCD)
_SHIFT = np.uint64(64 - HASH_BITS)
_SEP = "\x00"  # joins the batch; no n-gram crosses it (normalised text never contains NUL)

DATA_DIR = Path(__file__).with_name("data")
WEIGHTS_PATH = DATA_DIR / "abuse_weights.npy"
META_PATH = DATA_DIR / "abuse_weights.json"
DETECTOR = "classifier"


def _codepoints(
    texts: Sequence[str],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The batch as one code-point array (messages separated by 0), each message's start and length."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    joined = _SEP.join(texts)
    if joined.count(_SEP) != len(texts) - 1:  # a text holds NUL itself (normalised text never does)
        joined = _SEP.join(t.replace(_SEP, " ") for t in texts)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    starts = np.zeros(len(texts), dtype=np.int64)
    if len(texts) > 1:
        np.cumsum(lengths[:-1] + 1, out=starts[1:])
    return cps, starts, lengths


def _position_slots(
    texts: Sequence[str],
) -> tuple[list[npt.NDArray[np.uint64]], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per n, the slot of the n-gram starting at each batch position (N_FEATURES where there is none),
    plus each message's start and length."""
    cps, starts, lengths = _codepoints(texts)
    size = cps.shape[0]
    padded = np.zeros(size + len(NGRAM_SIZES) - 1, dtype=np.uint64)
    padded[:size] = cps
    separators = starts[1:] - 1
    out: list[npt.NDArray[np.uint64]] = []
    key = np.zeros(size, dtype=np.uint64)
    term = np.empty(size, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset, (n, k) in enumerate(zip(NGRAM_SIZES, (K1, K2, K3), strict=True)):
            np.multiply(padded[offset : offset + size], k, out=term)
            key += term
            slot = key + np.uint64(n) * K0
            slot *= M
            slot >>= _SHIFT
            # Only the n-grams touching a separator or running past the end are void: a few per
            # message, so they are overwritten by index instead of masking every position.
            void = np.concatenate(
                [separators - j for j in range(n)] + [np.arange(size - n + 1, size, dtype=np.int64)]
            )
            slot[void[void >= 0]] = N_FEATURES
            out.append(slot)
    return out, starts, lengths


def ngram_counts(lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """How many 1–3-grams a text of each length has."""
    return sum((np.maximum(lengths - n + 1, 0) for n in NGRAM_SIZES), np.zeros_like(lengths))


def hashed_ngrams(texts: Sequence[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(row, slot) of every 1–3-gram of the (already normalised) texts, vectorised over the batch."""
    per_n, starts, _ = _position_slots(texts)
    size = per_n[0].shape[0]
    marks = np.zeros(size + 1, dtype=np.int64)
    marks[starts] = 1  # starts are strictly increasing, so a plain assignment marks each once
    row_of = np.cumsum(marks[:size]) - 1
    slots = np.concatenate(per_n).astype(np.int64)
    rows = np.tile(row_of, len(per_n))
    keep = slots != N_FEATURES
    return rows[keep], slots[keep]


def feature_matrix(texts: Sequence[str]) -> sparse.csr_matrix:
    """The scaled hashed-n-gram matrix (len(texts) × 2**18) of already-normalised texts (for training)."""
    rows, slots = hashed_ngrams(texts)
    counts = ngram_counts(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
    scale = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    data = scale[rows]
    matrix = sparse.csr_matrix((data, (rows, slots)), shape=(len(texts), N_FEATURES), dtype=np.float64)
    matrix.sum_duplicates()
    return matrix


@dataclass(frozen=True)
class AbuseClassifier:
    """A loaded model: weights per hash slot, a bias and the threshold chosen on the COLD dev split."""

    weights: npt.NDArray[np.float32]
    bias: float
    threshold: float
    meta: dict[str, Any]
    padded_weights: npt.NDArray[np.float32]  # weights + a trailing 0 for "no n-gram here"

    @classmethod
    def load(cls, path: Path | str | None = None) -> AbuseClassifier:
        """The model at path (default: the shipped weights), loaded once per path."""
        return _load(str(path or WEIGHTS_PATH))

    def scores_normalised(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Raw linear scores (logits) of already-normalised texts."""
        if not texts:
            return np.zeros(0, dtype=np.float64)
        per_n, starts, lengths = _position_slots(texts)
        size = per_n[0].shape[0]
        # one extra 0 keeps reduceat's indices in range when the last message is empty
        per_position = np.empty(size + 1, dtype=np.float32)
        per_position[size] = 0.0
        # Slots are < 2**18 + 1, so their int64 view is the same numbers: np.take would otherwise copy
        # every uint64 index array to intp first (measured 3x slower than the gather itself).
        np.take(self.padded_weights, per_n[0].view(np.int64), out=per_position[:size])
        gathered = np.empty(size, dtype=np.float32)
        for slots in per_n[1:]:
            per_position[:size] += np.take(self.padded_weights, slots.view(np.int64), out=gathered)
        sums = np.add.reduceat(per_position, starts, dtype=np.float64)
        sums[lengths == 0] = 0.0  # reduceat returns the element at an empty slice's start
        counts = ngram_counts(lengths).astype(np.float64)
        return np.asarray(self.bias + sums / np.sqrt(np.maximum(counts, 1.0)), dtype=np.float64)

    def probabilities_normalised(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """P(abusive) of already-normalised texts."""
        logits = self.scores_normalised(texts)
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """P(abusive) of raw texts (normalised first), vectorised over the batch."""
        return self.probabilities_normalised(normalise_texts(texts))


@lru_cache(maxsize=4)
def _load(path: str) -> AbuseClassifier:
    """Read weights (no pickle) and the metadata JSON beside them."""
    weights = np.load(path, allow_pickle=False)
    if weights.dtype != np.float32 or weights.shape != (N_FEATURES,):
        raise ValueError(
            f"abuse classifier weights {path}: expected float32[{N_FEATURES}], got {weights.dtype}{weights.shape}"
        )
    meta_path = Path(path).with_suffix(".json")
    meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("hash_bits") != HASH_BITS:
        raise ValueError(
            f"abuse classifier metadata {meta_path}: hash_bits {meta.get('hash_bits')} ≠ {HASH_BITS}"
        )
    return AbuseClassifier(
        weights=weights,
        bias=float(meta["bias"]),
        threshold=float(meta["threshold"]),
        meta=meta,
        padded_weights=pad_weights(weights),
    )


def pad_weights(weights: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The weights with a trailing 0 (the slot of positions where an n-gram would cross a boundary)."""
    return np.append(weights.astype(np.float32), np.float32(0.0))


class ClassifierDetector:
    """Flags staff messages the model scores at or above the threshold; the span is the whole message.

    The whole message is the span because the model judges the message as a whole (its n-grams add
    up); a reviewer reads the sentence, and the score says how sure the model is.
    """

    def __init__(
        self,
        classifier: AbuseClassifier | None = None,
        threshold: float | None = None,
        severity: Severity = Severity.medium,
    ) -> None:
        self.classifier = classifier or AbuseClassifier.load()
        self.threshold = self.classifier.threshold if threshold is None else threshold
        self.severity = severity

    def detect(self, messages: Sequence[MessageIn]) -> list[Finding]:
        """One abuse finding per staff text message the model scores ≥ threshold."""
        return self.detect_normalised(messages, [None] * len(messages))

    def detect_normalised(
        self, messages: Sequence[MessageIn], norms: Sequence[Normalised | None]
    ) -> list[Finding]:
        """detect() reusing the engine's per-batch normalisation (None: normalise here)."""
        picked = [
            (m, n) for m, n in zip(messages, norms, strict=True) if m.from_staff and m.text and m.text.strip()
        ]
        if not picked:
            return []
        missing = [m.text or "" for m, n in picked if n is None]
        fresh = iter(normalise_texts(missing)) if missing else iter(())
        return self._findings(
            [m for m, _ in picked], [n.text if n is not None else next(fresh) for _, n in picked]
        )

    def detect_views(self, messages: Sequence[MessageIn], views: BatchViews) -> list[Finding]:
        """detect() reading the keyword views the engine built once for the batch."""
        keyword = views.keyword_texts()
        index = [i for i, m in enumerate(messages) if m.from_staff and m.text and m.text.strip()]
        if len(index) == len(messages):  # every message judged: score the batch's views as they are
            return self._findings(messages, keyword)
        return self._findings([messages[i] for i in index], [keyword[i] for i in index])

    def _findings(self, judged: Sequence[MessageIn], texts: Sequence[str]) -> list[Finding]:
        if not judged:
            return []
        probs = self.classifier.probabilities_normalised(texts)
        findings: list[Finding] = []
        for i in np.flatnonzero(probs >= self.threshold).tolist():
            message, text, prob = judged[i], texts[i], float(probs[i])
            findings.append(
                Finding(
                    msgid=message.msgid,
                    category=ComplianceCategory.abuse,
                    detector=DETECTOR,
                    severity=self.severity,
                    start=0,
                    end=len(message.text or ""),
                    matched=text[:100],
                    rule_key=DETECTOR,
                    score=round(prob, 4),
                )
            )
        return findings
