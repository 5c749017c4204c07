"""The builder form flattens a rule to rows and reads it back unchanged; editor actions reshape the tree."""

from __future__ import annotations

from typing import Any

from siyu.segments import form

DOC: dict[str, Any] = {
    "version": 1,
    "rule": {
        "all": [
            {"field": "tag", "op": "any", "value": [1, 2]},
            {"not": {"field": "orders_in_window", "op": "between", "value": [1, 3], "days": 90}},
            {"field": "clv_fen", "op": "ge", "value": 12345},
            {
                "any": [
                    {"field": "member_tier", "op": "in", "value": ["gold", "silver"]},
                    {"field": "owner_staff", "op": "none"},
                ]
            },
            {
                "field": "channel",
                "op": "joined_between",
                "value": ["wecom"],
                "from": "2026-01-01",
                "to": "2026-02-01",
            },
            {"field": "p_alive", "op": "le", "value": 0.25},
        ]
    },
}


class Form(dict[str, Any]):
    def getlist(self, key: str) -> list[str]:
        value = self.get(key)
        return value if isinstance(value, list) else [] if value is None else [value]


def _as_form(document: dict[str, Any]) -> Form:
    rows = form.rows_of(document["rule"])
    data = Form(node=[r.key for r in rows])
    for r in rows:
        data[f"k:{r.key}"] = r.kind
        if r.kind == "cond":
            data.update(
                {f"f:{r.key}": r.field, f"o:{r.key}": r.op, f"v:{r.key}": r.values, f"v2:{r.key}": r.value2}
            )
            data.update({f"d:{r.key}": r.days, f"from:{r.key}": r.first, f"to:{r.key}": r.last})
    return data


def test_rows_round_trip_and_money_shows_in_yuan() -> None:
    rows = form.rows_of(DOC["rule"])
    assert next(r for r in rows if r.field == "clv_fen").values == ["123.45"]
    assert form.document_from_form(_as_form(DOC)) == DOC


def test_actions_add_group_remove_and_switch_without_touching_the_input() -> None:
    added = form.apply_action(DOC, "group:r.3")
    assert added["rule"]["all"][3]["any"][-1] == {"any": [form.DEFAULT_CONDITION]}
    removed = form.apply_action(DOC, "remove:r.1")
    assert len(removed["rule"]["all"]) == 5 and "not" not in removed["rule"]["all"][1]
    switched = form.apply_action(DOC, "any:r")
    assert "any" in switched["rule"] and len(switched["rule"]["any"]) == 6
    last = form.apply_action(
        {"version": 1, "rule": {"any": [{"field": "consent", "op": "is", "value": True}]}}, "remove:r.0"
    )
    assert last["rule"]["any"] == [form.DEFAULT_CONDITION]  # a group never ends up empty
    assert len(DOC["rule"]["all"]) == 6 and "all" in DOC["rule"]


def test_a_changed_field_starts_from_its_first_op() -> None:
    data = _as_form({"version": 1, "rule": {"all": [{"field": "consent", "op": "is", "value": True}]}})
    data["f:r.0"] = "last_order_days"
    assert form.document_from_form(data)["rule"]["all"][0] == {
        "field": "last_order_days",
        "op": "ge",
        "value": 30,
    }
    data["f:r.0"] = "orders_in_window"
    assert form.document_from_form(data)["rule"]["all"][0] == {
        "field": "orders_in_window",
        "op": "ge",
        "value": 1,
        "days": 30,
    }
