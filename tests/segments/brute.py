"""Brute-force evaluation of a rule document over a World's raw rows (plain Python, no SQL), and random rules."""

from __future__ import annotations

import random
from datetime import date, datetime
from typing import Any

from siyu.models import AcquisitionSource, Channel, LifecycleStage, OrderChannel
from siyu.timeutil import local_date
from tests.segments.world import RFM, TIERS, World

CONTACT = {"staff_to_customer", "customer_to_staff"}


def _cmp(op: str, value: Any, x: float) -> bool:
    if op == "ge":
        return x >= value
    if op == "le":
        return x <= value
    return value[0] <= x <= value[1]


class Brute:
    """Indexes a World's rows per customer once, then evaluates rules customer by customer."""

    def __init__(self, world: World, now: datetime) -> None:
        self.w = world
        self.now = now
        self.today = local_date(now)
        self.tags: dict[int, set[int]] = {c["id"]: set() for c in world.customers}
        for cid, tag in world.customer_tags:
            self.tags[cid].add(tag)
        self.spans: dict[int, list[dict[str, Any]]] = {c["id"]: [] for c in world.customers}
        for m in world.memberships:
            self.spans[m["customer_id"]].append(m)
        self.orders: dict[int, list[dict[str, Any]]] = {c["id"]: [] for c in world.customers}
        for o in world.orders:
            if o["refund_fen"] < o["amount_fen"] and o["paid_at"] <= now:
                self.orders[o["customer_id"]].append(o)
        self.contacts: dict[int, list[datetime]] = {c["id"]: [] for c in world.customers}
        for msg in world.messages:
            if msg["direction"].value in CONTACT and msg["sent_at"] <= now:
                self.contacts[msg["customer_id"]].append(msg["sent_at"])

    def days_ago(self, moment: datetime) -> int:
        return (self.today - local_date(moment)).days

    def in_window(self, moment: datetime, days: int) -> bool:
        return moment <= self.now and 0 <= self.days_ago(moment) <= days - 1

    def ids(self, document: dict[str, Any], readable: Any = None) -> list[int]:
        """Ids of live customers (readable ones, if a predicate is given) the rule picks."""
        return sorted(
            c["id"]
            for c in self.w.customers
            if c["merged_into_id"] is None
            and (readable is None or readable(c))
            and self.holds(document["rule"], c)
        )

    def holds(self, node: dict[str, Any], c: dict[str, Any]) -> bool:
        if "all" in node:
            return all(self.holds(n, c) for n in node["all"])
        if "any" in node:
            return any(self.holds(n, c) for n in node["any"])
        if "not" in node:
            return not self.holds(node["not"], c)
        return self.condition(node, c)

    def condition(self, n: dict[str, Any], c: dict[str, Any]) -> bool:
        f, op, v, cid = n["field"], n["op"], n.get("value"), c["id"]
        if f == "tag":
            have = self.tags[cid] & set(v)
            return bool(have) if op == "any" else have == set(v) if op == "all" else not have
        if f == "channel":
            spans = [m for m in self.spans[cid] if m["channel"].value in v and m["joined_at"] <= self.now]
            if op in ("member", "not_member"):
                present = any(m["left_at"] is None or m["left_at"] > self.now for m in spans)
                return present if op == "member" else not present
            if op == "joined_within":
                return any(self.in_window(m["joined_at"], n["days"]) for m in spans)
            first, last = date.fromisoformat(n["from"]), date.fromisoformat(n["to"])
            return any(first <= local_date(m["joined_at"]) <= last for m in spans)
        if f in ("source", "lifecycle_stage"):
            found = c[f] in v
            return found if op == "in" else not found
        if f == "store":
            found = c["home_store_id"] in v
            return found if op == "in" else not found
        if f == "unit":
            store = c["home_store_id"]
            found = store is not None and any(
                self.w.unit_paths[store].startswith(self.w.unit_paths[u]) for u in v
            )
            return found if op == "in" else not found
        if f == "owner_staff":
            owner = c["owner_staff_id"]
            return {"none": owner is None, "some": owner is not None}.get(
                op, (owner in (v or ())) == (op == "in")
            )
        if f == "member_tier":
            if op == "none":
                return c["member_tier"] is None
            return (c["member_tier"] in v) == (op == "in")
        if f in ("last_order_days", "last_contact_days"):
            moments = (
                [o["paid_at"] for o in self.orders[cid]] if f == "last_order_days" else self.contacts[cid]
            )
            if op == "never":
                return not moments
            return bool(moments) and _cmp(op, v, self.days_ago(max(moments)))
        if f in ("orders_in_window", "spend_in_window", "order_channel"):
            window = [o for o in self.orders[cid] if self.in_window(o["paid_at"], n["days"])]
            if f == "order_channel":
                return any(o["channel"].value in v for o in window)
            if f == "orders_in_window":
                return _cmp(op, v, len(window))
            return _cmp(op, v, sum(o["amount_fen"] - o["refund_fen"] for o in window))
        if f == "rfm_segment":
            found = self.w.insights.get(cid, {}).get("rfm_segment") in v
            return found if op == "in" else not found
        if f in ("clv_fen", "p_alive", "expected_purchases"):
            x = self.w.insights.get(cid, {}).get(f)
            return x is not None and _cmp(op, v, x)
        if f == "consent":
            return c["marketing_opt_in"] is v
        if f == "first_seen_days":
            return _cmp(op, v, self.days_ago(c["first_seen_at"]))
        raise AssertionError(f"no brute force for {f}")


def _range(rng: random.Random, low: int, high: int) -> tuple[str, Any]:
    op = rng.choice(("ge", "le", "between"))
    if op == "between":
        a, b = sorted((rng.randint(low, high), rng.randint(low, high)))
        return op, [a, b]
    return op, rng.randint(low, high)


def random_condition(rng: random.Random, w: World) -> dict[str, Any]:
    """A valid condition on a random field, with values drawn from the world."""
    f = rng.choice(FIELD_NAMES)
    pick = rng.sample
    if f == "tag":
        return {
            "field": f,
            "op": rng.choice(("any", "all", "none")),
            "value": pick(w.tags, rng.randint(1, 3)),
        }
    if f == "channel":
        op = rng.choice(("member", "not_member", "joined_within", "joined_between"))
        cond: dict[str, Any] = {
            "field": f,
            "op": op,
            "value": pick([c.value for c in Channel], rng.randint(1, 3)),
        }
        if op == "joined_within":
            cond["days"] = rng.choice((1, 7, 30, 90, 365))
        if op == "joined_between":
            cond["from"], cond["to"] = "2026-03-01", rng.choice(("2026-06-30", "2026-11-20", "2026-11-19"))
        return cond
    if f in ("source", "lifecycle_stage", "rfm_segment"):
        codes = {
            "source": [s.value for s in AcquisitionSource],
            "lifecycle_stage": [s.value for s in LifecycleStage],
        }
        values = codes.get(f, list(RFM))
        return {"field": f, "op": rng.choice(("in", "not_in")), "value": pick(values, rng.randint(1, 3))}
    if f in ("store", "unit"):
        return {
            "field": f,
            "op": rng.choice(("in", "not_in")),
            "value": pick(list(w.units.values()), rng.randint(1, 2)),
        }
    if f == "owner_staff":
        op = rng.choice(("in", "not_in", "none", "some"))
        return {
            "field": f,
            "op": op,
            **({"value": pick(list(w.staff.values()), 2)} if op in ("in", "not_in") else {}),
        }
    if f == "member_tier":
        op = rng.choice(("in", "not_in", "none"))
        tiers = [t for t in TIERS if t]
        return {"field": f, "op": op, **({"value": pick(tiers, 2)} if op != "none" else {})}
    if f in ("last_order_days", "last_contact_days", "first_seen_days"):
        if f != "first_seen_days" and rng.random() < 0.15:
            return {"field": f, "op": "never"}
        op, value = _range(rng, 0, 400)
        return {"field": f, "op": op, "value": value}
    if f in ("orders_in_window", "spend_in_window"):
        op, value = _range(rng, 0, 4) if f == "orders_in_window" else _range(rng, 0, 60_000)
        return {"field": f, "op": op, "value": value, "days": rng.choice((1, 30, 90, 365))}
    if f == "order_channel":
        values = pick([c.value for c in OrderChannel], rng.randint(1, 2))
        return {"field": f, "op": "in", "value": values, "days": rng.choice((7, 90, 365))}
    if f in ("clv_fen", "p_alive", "expected_purchases"):
        scale = {"clv_fen": 200_000, "p_alive": 1, "expected_purchases": 4}[f]
        if f == "clv_fen":
            op, value = _range(rng, 0, scale)
        else:
            op = rng.choice(("ge", "le", "between"))
            a, b = sorted((round(rng.random() * scale, 2), round(rng.random() * scale, 2)))
            value = [a, b] if op == "between" else a
        return {"field": f, "op": op, "value": value}
    return {"field": "consent", "op": "is", "value": rng.random() < 0.5}


FIELD_NAMES = (
    "tag",
    "channel",
    "source",
    "store",
    "unit",
    "owner_staff",
    "lifecycle_stage",
    "member_tier",
    "last_order_days",
    "orders_in_window",
    "spend_in_window",
    "order_channel",
    "rfm_segment",
    "clv_fen",
    "p_alive",
    "expected_purchases",
    "last_contact_days",
    "consent",
    "first_seen_days",
)


def random_node(rng: random.Random, w: World, depth: int) -> dict[str, Any]:
    """A random node: a condition, or (below depth 3) an all / any / not group of random nodes."""
    if depth >= 3 or rng.random() < 0.45:
        return random_condition(rng, w)
    kind = rng.choice(("all", "any", "not"))
    if kind == "not":
        return {"not": random_node(rng, w, depth + 1)}
    return {kind: [random_node(rng, w, depth + 1) for _ in range(rng.randint(1, 3))]}
