"""A small world for the send-side tests: a store, guides, customers (some opted out), scripts, a group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from siyu.models import AcquisitionSource, ChatGroup, Customer, OrgUnit, Script, ScriptApproval, Staff
from siyu.models.enums import OrgUnitKind

T0 = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai


@dataclass
class World:
    """Ids of what was made."""

    store_id: int
    staff_ids: list[int]
    customer_ids: list[int]  # opted in
    opted_out_ids: list[int]
    script_id: int
    draft_script_id: int
    group_id: int


def build(session: Session, customers: int = 10, opted_out: int = 2) -> World:
    """Build the world with bulk inserts; customers are owned round-robin by two guides."""
    store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="静安店", path="/S1/")
    session.add(store)
    session.flush()
    guides = [Staff(code=f"G{i}", name=f"导购{i}", unit_id=store.id) for i in range(2)]
    session.add_all(guides)
    session.flush()
    staff_ids = [g.id for g in guides]
    total = customers + opted_out
    session.execute(
        insert(Customer),
        [
            {
                "name": f"顾客{i}",
                "source": AcquisitionSource.organic,
                "first_seen_at": T0,
                "owner_staff_id": staff_ids[i % 2],
                "home_store_id": store.id,
                "marketing_opt_in": i < customers,
            }
            for i in range(total)
        ],
    )
    ids = list(session.execute(select(Customer.id).order_by(Customer.id)).scalars())
    script = Script(
        title="春季上新",
        category="product",
        body="{name}您好，{store}春季上新，{guide}等您",
        approval=ScriptApproval.approved,
    )
    draft = Script(title="草稿", category="product", body="草稿 {name}", approval=ScriptApproval.draft)
    session.add_all([script, draft])
    group = ChatGroup(external_id="wr1", name="会员群", owner_staff_id=staff_ids[1], unit_id=store.id)
    session.add(group)
    session.flush()
    return World(store.id, staff_ids, ids[:customers], ids[customers:], script.id, draft.id, group.id)
