"""Rules service and import/export: validation, versions, permissions, whitelist, audit rows."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from siyu.compliance import rules_service as svc
from siyu.compliance.rules_io import export_csv, import_rules
from siyu.errors import Conflict, Forbidden, Invalid
from siyu.models import AuditLog
from siyu.models.compliance import (
    ComplianceCategory,
    ComplianceCategorySetting,
    IncidentStatus,
    SensitiveIncident,
    SensitiveRule,
    Severity,
    WhitelistPhrase,
)
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole

LEAD = Actor(None, "lead", PermissionRole.private_domain_lead, DataScope.all)
OPERATOR = Actor(None, "op", PermissionRole.operator, DataScope.all)
MANAGER = Actor(None, "boss", PermissionRole.manager, DataScope.all)


def actions(session: Session) -> Counter[str]:
    return Counter(session.scalars(select(AuditLog.action)))


def body(**kw: object) -> dict[str, object]:
    return {"category": "private_deal", "name": "私单", "terms": ["走我个人", "私下交易"], **kw}


def test_install_defaults_is_idempotent_and_audited(session: Session) -> None:
    first = svc.install_defaults(session, SYSTEM_ACTOR)
    data = svc.shipped_data()
    assert first == {
        "categories": len(data["categories"]),
        "rules": len(data["rules"]),
        "whitelist": len(data["whitelist"]),
    }
    assert session.scalar(select(func.count()).select_from(SensitiveRule)) == len(data["rules"])
    assert {r.source for r in session.scalars(select(SensitiveRule))} == {"builtin"}
    assert svc.install_defaults(session, SYSTEM_ACTOR) == {"categories": 0, "rules": 0, "whitelist": 0}
    assert actions(session)["compliance.rules.install_defaults"] == 1
    # Every shipped category is one of the model's, every keyword rule of a keyword category.
    cats = {r.category for r in session.scalars(select(SensitiveRule))}
    assert cats == {
        ComplianceCategory.abuse,
        ComplianceCategory.private_deal,
        ComplianceCategory.diverted_order,
        ComplianceCategory.forbidden_promise,
        ComplianceCategory.competitor,
    }


def test_create_edit_enable_bump_versions_and_audit(session: Session) -> None:
    rule = svc.create_rule(session, LEAD, body())
    assert (rule.version, rule.severity) == (1, svc.SEVERITY_DEFAULTS[ComplianceCategory.private_deal])
    svc.edit_rule(session, LEAD, rule.id, {"terms": "走我个人|不走公司", "severity": "low"})
    assert (rule.version, rule.terms, rule.severity) == (2, ["走我个人", "不走公司"], Severity.low)
    svc.set_rule_enabled(session, LEAD, rule.id, False)
    svc.set_rule_enabled(session, LEAD, rule.id, False)  # no change, no new version
    assert (rule.enabled, rule.version) == (False, 3)
    got = actions(session)
    assert (got["compliance.rule.create"], got["compliance.rule.edit"], got["compliance.rule.disable"]) == (
        1,
        1,
        1,
    )
    with pytest.raises(Conflict, match="already has a rule named"):
        svc.create_rule(session, LEAD, body())


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"category": "contact"}, "field 'category'"),
        ({"terms": []}, "field 'terms': at least 1"),
        ({"terms": ["✿✿"]}, "nothing left after normalisation"),
        ({"severity": "urgent"}, "field 'severity'"),
        ({"name": ""}, "field 'name'"),
        ({"colour": "red"}, "unknown field"),
    ],
)
def test_validation_names_the_field_and_why(session: Session, bad: dict[str, object], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        svc.create_rule(session, LEAD, body(**bad))


def test_only_admin_and_lead_edit(session: Session) -> None:
    for actor in (OPERATOR, MANAGER):
        with pytest.raises(Forbidden, match="may not edit compliance rules"):
            svc.create_rule(session, actor, body())
        with pytest.raises(Forbidden):
            svc.add_whitelist(session, actor, "微信支付")
    assert session.scalar(select(func.count()).select_from(SensitiveRule)) == 0


def test_category_settings_and_whitelist(session: Session) -> None:
    svc.set_category(session, LEAD, "competitor", enabled=False, severity="high")
    row = session.get(ComplianceCategorySetting, ComplianceCategory.competitor)
    assert row is not None and (row.enabled, row.severity) == (False, Severity.high)
    w = svc.add_whitelist(session, LEAD, "微信支付", None)
    assert svc.add_whitelist(session, LEAD, "微信支付", None).id == w.id
    svc.add_whitelist(session, LEAD, "微信支付", "private_deal")
    assert session.scalar(select(func.count()).select_from(WhitelistPhrase)) == 2
    svc.remove_whitelist(session, LEAD, w.id)
    assert session.scalar(select(func.count()).select_from(WhitelistPhrase)) == 1
    got = actions(session)
    assert (
        got["compliance.category.update"],
        got["compliance.whitelist.add"],
        got["compliance.whitelist.remove"],
    ) == (
        1,
        2,
        1,
    )


def test_whitelist_from_dismissed_incident_only(session: Session) -> None:
    def incident(status: IncidentStatus) -> SensitiveIncident:
        row = SensitiveIncident(
            category=ComplianceCategory.private_deal,
            detector="keyword",
            rule_key="1",
            severity=Severity.high,
            matched="转我个人",
            occurred_at=datetime(2026, 11, 1, tzinfo=UTC),
            status=status,
        )
        session.add(row)
        session.flush()
        return row

    with pytest.raises(Conflict, match="only a dismissed incident"):
        svc.whitelist_from_incident(session, LEAD, incident(IncidentStatus.open).id)
    done = incident(IncidentStatus.dismissed)
    w = svc.whitelist_from_incident(session, LEAD, done.id)
    assert (w.phrase, w.category, w.from_incident_id) == (
        "转我个人",
        ComplianceCategory.private_deal,
        done.id,
    )


def csv_file(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def test_import_csv_rows_merge_and_replace(session: Session) -> None:
    text = (
        "category,name,terms,not_terms,severity\n"
        "private_deal,私单,走我个人|不走公司,,high\n"
        "private_deal,私单,转我个人,,\n"
        "diverted_order,飞单,去别家买,不会让您去别家,\n"
    )
    result = import_rules(session, LEAD, csv_file(text), "rules.csv")
    assert (result.created, result.updated, result.terms) == (2, 0, 4)
    deal = session.scalars(select(SensitiveRule).where(SensitiveRule.name == "私单")).one()
    assert (deal.terms, deal.severity, deal.source) == (
        ["走我个人", "不走公司", "转我个人"],
        Severity.high,
        "import",
    )
    again = import_rules(session, LEAD, csv_file("类别,名称,关键词\nprivate_deal,私单,私下交易\n"), "r.csv")
    assert (again.created, again.updated) == (0, 1)
    assert (deal.terms, deal.version) == (["私下交易"], 2)
    assert actions(session)["compliance.rules.import"] == 2


def test_import_errors_name_row_and_column_and_write_nothing(session: Session) -> None:
    text = (
        "category,name,terms,severity\n"
        "private_deal,私单,走我个人,high\n"
        "private_deal,坏,走我个人,urgent\n"
        "nonsense,坏2,x,low\n"
    )
    with pytest.raises(Invalid) as caught:
        import_rules(session, LEAD, csv_file(text), "rules.csv")
    details = caught.value.details
    assert [(d["row"], d["column"], d["value"]) for d in details] == [
        (3, "severity", "urgent"),
        (4, "category", "nonsense"),
    ]
    assert "rules.csv row 3" in details[0]["reason"]
    assert session.scalar(select(func.count()).select_from(SensitiveRule)) == 0
    with pytest.raises(Invalid, match="header column 2 'colour'"):
        import_rules(session, LEAD, csv_file("category,colour\n"), "x.csv")


def test_import_txt_and_xlsx_and_export_roundtrip(session: Session) -> None:
    txt = io.BytesIO("走我个人\n\n 私下交易 \n".encode())
    with pytest.raises(Invalid, match="needs a category and a rule name"):
        import_rules(session, LEAD, txt, "list.txt")
    with pytest.raises(Invalid, match=r"list\.txt line 2") as caught:
        bad = io.BytesIO("走我个人\n✿✿\n".encode())
        import_rules(session, LEAD, bad, "list.txt", category="abuse", name="x")
    assert caught.value.details[0]["column"] == "terms"
    result = import_rules(
        session, LEAD, txt, "list.txt", category="private_deal", name="私单", severity="high"
    )
    assert (result.created, result.terms) == (1, 2)

    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["category", "name", "terms", "collapse_repeats"])
    ws.append(["abuse", "脏话", "王八蛋;傻逼", "yes"])
    buf = io.BytesIO()
    wb.save(buf)
    import_rules(session, LEAD, buf, "list.xlsx")
    abuse = session.scalars(select(SensitiveRule).where(SensitiveRule.name == "脏话")).one()
    assert (abuse.terms, abuse.collapse_repeats) == (["王八蛋", "傻逼"], True)

    exported = export_csv(session)
    lines = exported.lstrip("\ufeff").splitlines()
    assert len(lines) == 3  # header + 2 rules
    session.execute(delete(SensitiveRule))
    session.expunge_all()
    again = import_rules(session, LEAD, io.BytesIO(exported.encode()), "export.csv")
    assert (again.created, again.terms) == (2, 4)


def test_new_rule_without_severity_takes_the_category_setting(session: Session) -> None:
    svc.set_category(session, LEAD, "diverted_order", severity="low")
    rule = svc.create_rule(session, LEAD, {"category": "diverted_order", "name": "飞单", "terms": "去别家买"})
    assert rule.severity == Severity.low
    imported = import_rules(
        session, LEAD, csv_file("category,name,terms\ndiverted_order,飞单2,换个店\n"), "a.csv"
    )
    assert session.get(SensitiveRule, imported.rule_ids[0]).severity == Severity.low  # type: ignore[union-attr]
