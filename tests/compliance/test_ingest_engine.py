"""Ingest with the real engine and the shipped rules: evasive contact details become incidents on the original text."""

from __future__ import annotations

from sqlalchemy import Engine, select

from siyu.compliance import incidents_store
from siyu.compliance.engine import load_engine
from siyu.compliance.ingest import ingest_records
from siyu.compliance.rules_service import install_defaults
from siyu.db.engine import session_factory
from siyu.models import ChatMessage
from siyu.models.compliance import SensitiveIncident
from siyu.org.permissions import SYSTEM_ACTOR
from tests.compliance.c4_support import World, ms, send, world_fixture  # noqa: F401

T0 = ms(2026, 3, 2, 2, 0)
TEXTS = {
    "phone": "好的，直接打我电话 138 1234 5678",
    "split1": "我手机是138",
    "split2": "12345678，记一下",
    "clean": "您可以用微信支付付款哦",
}


def test_real_engine_finds_evasions_on_ingest(engine: Engine, world: World) -> None:
    with session_factory(engine)() as s:
        install_defaults(s, SYSTEM_ACTOR)
        s.commit()
        records = [
            send(k, "zhangsan", "wmCust0001", t, T0 + i * 20_000) for i, (k, t) in enumerate(TEXTS.items())
        ]
        # The split number arrives out of order: detection still sees the thread in sent_at order.
        records = [records[2], records[0], records[3], records[1]]
        result = ingest_records(s, records, SYSTEM_ACTOR, engine=load_engine(s, with_classifier=False))
        s.commit()
        assert result.accepted == 4
        rows = s.execute(
            select(ChatMessage.msgid, ChatMessage.text, SensitiveIncident.span_start, SensitiveIncident.span_end, SensitiveIncident.detector)
            .join(SensitiveIncident, SensitiveIncident.message_id == ChatMessage.id)
        ).all()  # fmt: skip
        by_msg: dict[str, list[str]] = {}
        for msgid, text, start, end, detector in rows:
            by_msg.setdefault(msgid, []).append(text[start:end])
            assert 0 <= start < end <= len(text), detector
        assert any("138 1234 5678" in span for span in by_msg["phone"])
        assert "split1" in by_msg or "split2" in by_msg  # the split number is one finding
        assert "clean" not in by_msg
        again = ingest_records(s, records, SYSTEM_ACTOR, engine=incidents_store.get_engine(s))
        assert again.incidents == 0 and again.duplicate == 4
