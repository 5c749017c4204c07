"""Train the abuse classifier on COLD: L2 logistic regression over hashed character 1–3-grams.

    .venv/bin/python tools/train_abuse_classifier.py [--cold ../shared/datasets/cold] [--out DIR]

Fits on the train split with L-BFGS (analytic gradient), picks the regularisation strength and the
decision threshold on the dev split (best F1), reports precision / recall / F1 on the test split and
writes src/siyu/compliance/data/abuse_weights.npy (float32[2**18]) + abuse_weights.json.
Deterministic: no randomness anywhere (zero start, fixed iteration budget).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import optimize, sparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from siyu.compliance import classifier as clf  # noqa: E402

DEFAULT_COLD = ROOT.parent / "shared" / "datasets" / "cold"
LAMBDAS = (1e-6, 1e-5, 3e-5, 1e-4, 3e-4)  # per-example L2 strength, chosen on dev
MAX_ITER = 400


def read_split(cold: Path, split: str) -> tuple[list[str], npt.NDArray[np.int8]]:
    """Texts and 0/1 labels of one COLD split (CSV with a BOM; columns include label and TEXT)."""
    texts: list[str] = []
    labels: list[int] = []
    with (cold / f"{split}.csv").open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            texts.append(row["TEXT"])
            labels.append(int(row["label"]))
    return texts, np.asarray(labels, dtype=np.int8)


def fit(x: sparse.csr_matrix, y: npt.NDArray[np.int8], lam: float) -> tuple[npt.NDArray[np.float64], float]:
    """Weights and bias minimising mean log-loss + lam/2 · |w|² (bias not regularised)."""
    n, d = x.shape
    yf = y.astype(np.float64)
    xt = x.T.tocsr()

    def loss_grad(theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        w, b = theta[:d], theta[d]
        z = x @ w + b
        # log(1 + e^z) - y z, computed stably
        loss = float(np.sum(np.logaddexp(0.0, z) - yf * z)) / n + 0.5 * lam * float(w @ w)
        p = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid without overflow
        r = (p - yf) / n
        grad = np.empty(d + 1)
        grad[:d] = xt @ r + lam * w
        grad[d] = float(r.sum())
        return loss, grad

    res = optimize.minimize(
        loss_grad,
        np.zeros(d + 1),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": MAX_ITER, "gtol": 1e-6},
    )
    return res.x[:d], float(res.x[d])


def prf(pred: npt.NDArray[np.bool_], y: npt.NDArray[np.int8]) -> dict[str, float | int]:
    """Precision, recall, F1 and the confusion counts of boolean predictions."""
    truth = y.astype(bool)
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "n": len(y),
    }


def best_threshold(prob: npt.NDArray[np.float64], y: npt.NDArray[np.int8]) -> tuple[float, float]:
    """The threshold (on a 0.01 grid) with the best F1, and that F1."""
    best = (0.5, -1.0)
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        f1 = float(prf(prob >= t, y)["f1"])
        if f1 > best[1]:
            best = (float(t), f1)
    return best


def main(argv: list[str] | None = None) -> int:
    """Train, pick lambda and threshold on dev, evaluate on test, write weights + metadata."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold", type=Path, default=DEFAULT_COLD)
    ap.add_argument("--out", type=Path, default=clf.DATA_DIR)
    args = ap.parse_args(argv)

    started = time.perf_counter()
    splits = {s: read_split(args.cold, s) for s in ("train", "dev", "test")}
    norm = {s: clf.normalise_texts(texts) for s, (texts, _) in splits.items()}
    xs = {s: clf.feature_matrix(norm[s]) for s in splits}
    y_train, y_dev = splits["train"][1], splits["dev"][1]

    chosen: tuple[float, npt.NDArray[np.float64], float, float, float] | None = None
    trials = []
    for lam in LAMBDAS:
        w, b = fit(xs["train"], y_train, lam)
        prob_dev = 1.0 / (1.0 + np.exp(-(xs["dev"] @ w + b)))
        threshold, f1 = best_threshold(prob_dev, y_dev)
        trials.append({"lambda": lam, "dev_f1": round(f1, 4), "threshold": threshold})
        print(f"lambda={lam:g}: dev F1 {f1:.4f} at threshold {threshold:.2f}", file=sys.stderr)
        if chosen is None or f1 > chosen[4]:
            chosen = (lam, w, b, threshold, f1)
    assert chosen is not None
    lam, w, b, threshold, dev_f1 = chosen

    weights = w.astype(np.float32)
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "abuse_weights.npy", weights, allow_pickle=False)
    # Figures from the shipped float32 weights through the product's scoring path.
    model = clf.AbuseClassifier(
        weights=weights, bias=b, threshold=threshold, meta={}, padded_weights=clf.pad_weights(weights)
    )
    metrics = {
        s: prf(model.probabilities_normalised(norm[s]) >= threshold, splits[s][1])
        for s in ("train", "dev", "test")
    }
    meta = {
        "model": "logistic regression, L2, L-BFGS",
        "ngrams": list(clf.NGRAM_SIZES),
        "hash": "slot = ((sum c[i+k]*K[k+1] + n*K0) * M mod 2^64) >> (64 - hash_bits); see classifier.py",
        "hash_bits": clf.HASH_BITS,
        "feature_scaling": "count / sqrt(number of n-grams in the message)",
        "normalisation": "siyu.compliance.normalise.normalise (keyword view)",
        "bias": b,
        "threshold": threshold,
        "lambda": lam,
        "lambda_trials": trials,
        "max_iter": MAX_ITER,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cold_sizes": {s: len(splits[s][1]) for s in splits},
        "cold_positive": {s: int(splits[s][1].sum()) for s in splits},
        "metrics": metrics,
        "dev_f1_at_threshold": round(dev_f1, 4),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    (args.out / "abuse_weights.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(json.dumps({"lambda": lam, "threshold": threshold, "metrics": metrics}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
