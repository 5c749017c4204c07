"""Small worlds for the enrolment and engine tests: a store, a guide, customers, scripts, journeys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from siyu.models import (
    AcquisitionSource,
    Customer,
    Journey,
    JourneyStatus,
    JourneyVersion,
    OrgUnit,
    Script,
    ScriptApproval,
    Staff,
)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai, outside quiet hours


@dataclass
class World:
    """Ids of what a test needs."""

    store_id: int
    staff_id: int
    customer_ids: list[int]
    script_id: int


def build(session: Session, customers: int = 5, opt_in: bool = True) -> World:
    """A region → store, one guide owning `customers` customers, one approved script."""
    region = OrgUnit(kind="region", code="R1", name="华东", path="/1/", depth=0)
    session.add(region)
    session.flush()
    store = OrgUnit(
        kind="store", code="S1", name="南京西路店", path=f"/{region.id}/2/", depth=1, parent_id=region.id
    )
    session.add(store)
    session.flush()
    staff = Staff(code="G1", name="小王", unit_id=store.id)
    session.add(staff)
    session.flush()
    session.execute(
        insert(Customer),
        [
            {
                "name": f"顾客{i}",
                "source": AcquisitionSource.organic,
                "first_seen_at": T0,
                "owner_staff_id": staff.id,
                "home_store_id": store.id,
                "marketing_opt_in": opt_in,
            }
            for i in range(customers)
        ],
    )
    script = Script(
        title="欢迎", category="welcome", body="{name}您好，我是{guide}", approval=ScriptApproval.approved
    )
    session.add(script)
    session.flush()
    ids = sorted(int(c) for c in session.execute(select(Customer.id)).scalars())
    return World(store_id=store.id, staff_id=staff.id, customer_ids=ids, script_id=script.id)


def journey(
    session: Session,
    definition: dict[str, Any],
    code: str = "j1",
    status: JourneyStatus = JourneyStatus.active,
) -> int:
    """A journey with definition as version 1; its id."""
    j = Journey(code=code, name=code, status=status, current_version=1)
    session.add(j)
    session.flush()
    session.add(JourneyVersion(journey_id=j.id, version=1, definition=definition, created_at=T0))
    session.flush()
    return j.id


def new_version(session: Session, journey_id: int, definition: dict[str, Any]) -> int:
    """Add the next version and make it current; its number."""
    j = session.get_one(Journey, journey_id)
    j.current_version += 1
    session.add(
        JourneyVersion(journey_id=journey_id, version=j.current_version, definition=definition, created_at=T0)
    )
    session.flush()
    return j.current_version


def steps(*actions_per_step: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A manual-trigger definition with one step per actions list, each due 0, 1, 2… days after entry."""
    return {
        "trigger": {"kind": "manual"},
        "steps": [
            {"key": f"s{i}", "name": f"第{i}步", "delay": {"days": i}, "actions": actions}
            for i, actions in enumerate(actions_per_step)
        ],
        "quiet_hours": None,
        **extra,
    }
