"""docs/metrics.md lists every metric and is what `siyu metrics doc` generates."""

from __future__ import annotations

from pathlib import Path

from siyu.performance.catalog import METRICS
from siyu.performance.cli import catalog_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_doc_lists_every_metric_and_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    for code, m in METRICS.items():
        assert f"### `{code}` — " in text, code
        assert m.definition_en in text
    assert text == catalog_markdown(), "docs/metrics.md is stale: run `siyu metrics doc > docs/metrics.md`"
