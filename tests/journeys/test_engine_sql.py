"""The one-parameter filters (siyu.db.bulk.any_of), array literals and the compiled renderer agree with brute force."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.db.bulk import any_of, pg_array
from siyu.journeys.render import _VARIABLE, RenderItem, _fill, render_body, render_many
from siyu.models import Customer, OrgUnit, Script, Staff

from .engine_world import build

AWKWARD = ['a"b', "c\\d", "x,y", "{}", " sp ", "NULL", "中文", "", "it's"]


def test_pg_array_literal_quotes_every_element() -> None:
    assert pg_array([1, 2, 3]) == "{1,2,3}"
    assert pg_array([]) == "{}"
    assert pg_array([1, None]) == "{1,NULL}"
    assert pg_array(['a"b', "c\\d"]) == '{"a\\"b","c\\\\d"}'


def test_any_of_matches_a_brute_force_filter(session: Session) -> None:
    w = build(session, customers=6)
    names = {cid: name for cid, name in zip(w.customer_ids, AWKWARD, strict=False)}
    for cid, name in names.items():
        session.get_one(Customer, cid).name = name
    session.flush()
    wanted = [*w.customer_ids[1:4], 10**9]  # one id that does not exist
    got = session.execute(select(Customer.id).where(any_of(session, Customer.id, wanted))).scalars()
    assert sorted(got) == sorted(w.customer_ids[1:4])
    assert session.execute(select(Customer.id).where(any_of(session, Customer.id, []))).all() == []
    by_name = session.execute(
        select(Customer.id).where(any_of(session, Customer.name, list(names.values())))
    ).scalars()
    assert sorted(by_name) == sorted(names)
    none = session.execute(select(Customer.id).where(any_of(session, Customer.name, []))).all()
    assert none == []


def test_compiled_render_equals_render_body(session: Session) -> None:
    bodies = ["{name}您好，我是{guide}", "", "x{foo}y{store}{coupon}", "{{name}}", "纯文本", "{name"]
    for body in bodies:
        values = {"name": "张三", "guide": None, "store": "静安店"}
        assert _fill(_VARIABLE.split(body), values) == render_body(body, values)
    w = build(session, customers=2)
    script = session.get_one(Script, w.script_id)
    script.body = "{name}您好，{store}的{guide}给您留了{coupon}{unknown}"
    session.flush()
    texts = render_many(session, [RenderItem(w.script_id, cid, w.staff_id) for cid in w.customer_ids])
    guide = session.get_one(Staff, w.staff_id).name
    for cid, text in zip(w.customer_ids, texts, strict=True):
        customer = session.get_one(Customer, cid)
        store = session.get_one(OrgUnit, customer.home_store_id).name if customer.home_store_id else None
        values = {"name": customer.name, "store": store, "guide": guide, "coupon": None}
        assert text == render_body(script.body, values)
        assert text.endswith("{unknown}")
