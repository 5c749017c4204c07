"""Compiled counts equal a brute-force evaluation of the same rule over the raw rows, field by field and at random."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.segments import repository as repo
from siyu.segments.schemas import FIELDS, parse_rule
from tests.segments.brute import FIELD_NAMES, Brute, random_condition, random_node
from tests.segments.world import NOW, build


def _doc(node: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "rule": node}


def test_every_field_and_op_matches_brute_force(session: Session) -> None:
    world = build(session)
    brute = Brute(world, NOW)
    rng = random.Random(1)
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    for _ in range(900):
        node = random_condition(rng, world)
        document = _doc(node)
        compiled = repo.member_ids(session, parse_rule(document), SYSTEM_ACTOR, NOW)
        assert compiled == brute.ids(document), node
        seen[(node["field"], node["op"])].append(len(compiled))
    assert set(FIELD_NAMES) == set(FIELDS)
    assert set(seen) == {(f, op) for f, spec in FIELDS.items() for op in spec.ops}
    live = sum(1 for c in world.customers if c["merged_into_id"] is None)
    for (field, op), sizes in seen.items():
        # Each field/op must have split the customers at least once, or the comparison proved little.
        if (field, op) != ("last_contact_days", "never") or max(sizes) > 0:
            assert any(0 < n < live for n in sizes), (field, op, sizes)


def test_random_rules_up_to_depth_three_match_brute_force(session: Session) -> None:
    world = build(session, seed=3)
    brute = Brute(world, NOW)
    rng = random.Random(2)
    nontrivial = 0
    for _ in range(250):
        document = _doc(random_node(rng, world, 0))
        compiled = repo.member_ids(session, parse_rule(document), SYSTEM_ACTOR, NOW)
        expected = brute.ids(document)
        assert compiled == expected, document
        assert repo.count_members(session, parse_rule(document), SYSTEM_ACTOR, NOW) == len(expected)
        nontrivial += 0 < len(expected) < len(world.customers) - 8
    assert nontrivial > 100


def test_a_guide_counts_only_their_own_customers(session: Session) -> None:
    world = build(session, seed=5)
    brute = Brute(world, NOW)
    staff_id = world.staff["S1"]
    guide = Actor(
        account_id=None, username="g", role=PermissionRole.guide, scope=DataScope.self_, staff_id=staff_id
    )
    mine = {c["id"] for c in world.customers if c["owner_staff_id"] == staff_id} | {
        m["customer_id"] for m in world.memberships if m["staff_id"] == staff_id and m["left_at"] is None
    }
    document = _doc(
        {
            "any": [
                {"field": "consent", "op": "is", "value": True},
                {"field": "tag", "op": "any", "value": world.tags[:2]},
            ]
        }
    )
    rule = parse_rule(document)
    expected = brute.ids(document, lambda c: c["id"] in mine)
    assert repo.member_ids(session, rule, guide, NOW) == expected
    assert 0 < len(expected) < len(brute.ids(document))


def test_a_regional_manager_counts_their_subtree_only(session: Session) -> None:
    world = build(session, seed=9)
    brute = Brute(world, NOW)
    region = world.units["R1"]
    path = world.unit_paths[region]
    manager = Actor(
        account_id=None,
        username="m",
        role=PermissionRole.manager,
        scope=DataScope.subtree,
        scope_unit_id=region,
        scope_unit_path=path,
    )
    units = {u for u, p in world.unit_paths.items() if p.startswith(path)}
    staff_units = {
        world.staff["S1"]: "ST1",
        world.staff["S2"]: "ST1",
        world.staff["S3"]: "ST2",
        world.staff["S4"]: "ST3",
    }
    in_staff = {s for s, code in staff_units.items() if world.units[code] in units}

    def readable(c: dict[str, Any]) -> bool:
        return c["home_store_id"] in units or c["owner_staff_id"] in in_staff

    document = _doc({"not": {"field": "last_order_days", "op": "never"}})
    expected = brute.ids(document, readable)
    assert repo.member_ids(session, parse_rule(document), manager, NOW) == expected
    assert 0 < len(expected) < len(brute.ids(document))
