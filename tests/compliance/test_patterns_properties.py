"""Properties of the pattern detectors over arbitrary batches (Hypothesis): no crash, spans inside the text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.compliance.contract import MessageIn
from siyu.compliance.normalise import digits_view
from siyu.compliance.patterns import PatternDetector

_ALPHABET = st.sampled_from(
    [
        *"0123456789１３８①③⑧一三八幺壹叁捌 -.✿:：+",
        *(
            "微信",
            "vx",
            "加我",
            "卡号",
            "支付宝",
            "订单号",
            "t.cn/",
            "taobao.com",
            "https://",
            "@qq.com",
            "abc_12",
        ),
    ]
)
_TEXT = st.lists(_ALPHABET, max_size=16).map("".join)
_DETECTOR = PatternDetector()


@st.composite
def batches(draw: st.DrawFn) -> list[MessageIn]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    size = draw(st.integers(1, 6))
    return [
        MessageIn(
            msgid=f"m{i}",
            sender=draw(st.sampled_from(["a", "b"])),
            msg_type="text",
            text=draw(_TEXT),
            sent_at=t0 + timedelta(seconds=draw(st.integers(0, 300))),
            staff_id=1,
            customer_id=draw(st.sampled_from([1, 2])),
            from_staff=draw(st.booleans()),
        )
        for i in range(size)
    ]


@settings(max_examples=300, deadline=None)
@given(batches())
def test_findings_have_valid_spans(batch: list[MessageIn]) -> None:
    texts = {m.msgid: m.text or "" for m in batch}
    findings = _DETECTOR.detect(batch)
    order = [m.msgid for m in batch]
    assert [order.index(f.msgid) for f in findings] == sorted(order.index(f.msgid) for f in findings)
    for f in findings:
        assert 0 <= f.start < f.end <= len(texts[f.msgid]), f
        assert f.rule_key == f.detector
        if f.detector in ("phone", "phone_split"):
            assert len(f.matched) == 11
            if f.detector == "phone":  # the highlighted original reads as the number (plus any +86 prefix)
                assert digits_view(texts[f.msgid][f.start : f.end]).text.endswith(f.matched)


@settings(max_examples=200, deadline=None)
@given(batches())
def test_batching_does_not_change_single_message_findings(batch: list[MessageIn]) -> None:
    together = {
        (f.msgid, f.detector, f.start, f.end) for f in _DETECTOR.detect(batch) if f.detector != "phone_split"
    }
    alone = {(f.msgid, f.detector, f.start, f.end) for m in batch for f in _DETECTOR.detect([m])}
    assert together == alone
