"""seed_channel_codes on a small demo: realistic codes over the demo's own states, funnels that reconcile."""

from __future__ import annotations

from sqlalchemy import Engine, delete, select

from siyu.db.engine import session_factory
from siyu.demo.builder import DemoParams, build_demo
from siyu.demo.wecom import seed_channel_codes
from siyu.models import ChannelMembership, Order
from siyu.models.enums import Channel
from siyu.models.wecom import ChannelCode
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.wecom.channel_code_service import list_codes


def test_demo_codes(engine: Engine) -> None:
    with session_factory(engine)() as s:
        build_demo(s, DemoParams(customers=1_500, seed=7))  # the builder seeds the codes
        s.commit()
    with session_factory(engine)() as s:
        assert seed_channel_codes(s) == {"channel_codes": 0, "with_history": 0}  # idempotent
        s.execute(delete(ChannelCode))
        counts = seed_channel_codes(s)
        s.commit()
        assert counts["channel_codes"] == 4 and counts["with_history"] >= 2
        rows = {c.source_detail: c for c in s.scalars(select(ChannelCode))}
        assert set(rows) == {"门店海报", "包裹卡", "朋友圈广告", "直播间"}
        assert all(c.config_id is None and c.staff_ids and c.active for c in rows.values())
        listed = {c.code: c for c in list_codes(s, SYSTEM_ACTOR)}
        members = s.execute(
            select(
                ChannelMembership.customer_id,
                ChannelMembership.channel_code,
                ChannelMembership.joined_at,
                ChannelMembership.left_at,
            ).where(ChannelMembership.channel == Channel.wecom)
        ).all()
        orders = s.execute(select(Order.customer_id, Order.paid_at)).all()
        for code, out in listed.items():
            mine = [m for m in members if m.channel_code == code]
            first: dict[int, object] = {}
            for m in mine:
                first[m.customer_id] = min(first.get(m.customer_id, m.joined_at), m.joined_at)  # type: ignore[type-var]
            ordered = {
                o.customer_id for o in orders if o.customer_id in first and o.paid_at >= first[o.customer_id]
            }  # type: ignore[operator]
            following = {m.customer_id for m in mine if m.left_at is None}
            assert (out.adds, out.following, out.ordered) == (len(first), len(following), len(ordered)), code
        assert listed[rows["包裹卡"].code].adds > 0 and listed[rows["直播间"].code].adds == 0
