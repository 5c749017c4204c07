"""Display labels (gettext msgids) for every code the console shows; templates use the `label` filter."""

from __future__ import annotations

from enum import StrEnum

from siyu.web.i18n import N_

# One table per code family, keyed by the enum's class name (or a plain name for free-text codes).
LABELS: dict[str, dict[str, str]] = {
    "PermissionRole": {
        "admin": N_("Administrator"),
        "private_domain_lead": N_("Private-domain lead"),
        "manager": N_("Manager"),
        "operator": N_("Operator"),
        "guide": N_("Guide"),
        "analyst": N_("Analyst"),
    },
    "DataScope": {
        "self": N_("Own customers"),
        "unit": N_("Own unit"),
        "subtree": N_("Unit and below"),
        "all": N_("Everything"),
    },
    "Channel": {
        "wecom": N_("WeCom"),
        "wechat_personal": N_("Personal WeChat"),
        "group": N_("Groups"),
        "miniprogram": N_("Mini-program"),
        "member": N_("Members"),
        "official_account": N_("Official account"),
    },
    "AcquisitionSource": {
        "telesales": N_("Telesales"),
        "order": N_("Order"),
        "ad": N_("Advertising"),
        "store": N_("Store"),
        "referral": N_("Referral"),
        "organic": N_("Organic"),
        "intercept": N_("Intercept"),
    },
    "LifecycleStage": {
        "new": N_("New"),
        "active": N_("Active customer"),
        "sleeping": N_("Sleeping"),
        "lost": N_("Lost"),
        "recalled": N_("Recalled"),
    },
    "LeaveReason": {
        "customer_deleted_staff": N_("Customer deleted the staff member"),
        "staff_deleted_customer": N_("Staff member deleted the customer"),
        "left_group": N_("Left the group"),
        "removed_from_group": N_("Removed from the group"),
        "unsubscribed": N_("Unsubscribed"),
        "membership_cancelled": N_("Membership cancelled"),
        "handover": N_("Handed over to another staff member"),
        "other": N_("Other"),
    },
    "IdentityKind": {
        "phone": N_("Phone"),
        "wecom_external_userid": N_("WeCom external user ID"),
        "unionid": N_("WeChat UnionID"),
        "miniprogram_openid": N_("Mini-program OpenID"),
        "member_no": N_("Member number"),
        "telesales_id": N_("Telesales ID"),
    },
    "OrderChannel": {
        "miniprogram": N_("Mini-program"),
        "store": N_("Store"),
        "ecommerce": N_("E-commerce"),
        "live": N_("Live streaming"),
    },
    "OrderStatus": {
        "paid": N_("Paid"),
        "partially_refunded": N_("Partially refunded"),
        "refunded": N_("Refunded"),
    },
    "MessageDirection": {
        "staff_to_customer": N_("Staff → customer"),
        "customer_to_staff": N_("Customer → staff"),
        "staff_to_group": N_("Staff → group"),
        "customer_to_group": N_("Customer → group"),
        "other": N_("Other"),
    },
    "TaskStatus": {"open": N_("Open"), "done": N_("Done"), "cancelled": N_("Cancelled")},
    "ImportKind": {"customers": N_("Customers"), "orders": N_("Orders"), "messages": N_("Messages")},
    "ImportStatus": {
        "pending": N_("pending"),
        "running": N_("running"),
        "succeeded": N_("succeeded"),
        "failed": N_("failed"),
    },
    # WeCom archive message types (free text in the data: unknown ones are shown as they come).
    "msg_type": {
        "text": N_("[text]"),
        "image": N_("[image]"),
        "voice": N_("[voice]"),
        "video": N_("[video]"),
        "emotion": N_("[sticker]"),
        "file": N_("[file]"),
        "link": N_("[link]"),
        "location": N_("[location]"),
        "card": N_("[contact card]"),
        "weapp": N_("[mini-program card]"),
        "redpacket": N_("[red packet]"),
    },
    # Insights (console pages of siyu.insights).
    "RfmSegment": {
        "important_value": N_("Important value"),
        "important_develop": N_("Important to develop"),
        "important_keep": N_("Important to keep"),
        "important_retain": N_("Important to win back"),
        "general_value": N_("General value"),
        "general_develop": N_("General to develop"),
        "general_keep": N_("General to keep"),
        "general_retain": N_("General to win back"),
        "champions": N_("Champions"),
        "loyal": N_("Loyal"),
        "potential_loyal": N_("Potential loyalists"),
        "new_customers": N_("New customers"),
        "promising": N_("Promising"),
        "need_attention": N_("Need attention"),
        "about_to_sleep": N_("About to sleep"),
        "at_risk": N_("At risk"),
        "cannot_lose": N_("Cannot lose them"),
        "hibernating": N_("Hibernating"),
        "lost": N_("Lost"),
    },
    "RfmScheme": {
        "eight_class": N_("Eight classes (R/F/M high or low)"),
        "quintile": N_("Quintile scores 1–5"),
    },
    "RfmCut": {"mean": N_("Mean"), "median": N_("Median"), "fixed": N_("Fixed thresholds")},
    "WarningReason": {
        "p_alive": N_("P(alive) below threshold"),
        "overdue": N_("Overdue"),
        "both": N_("P(alive) low and overdue"),
    },
    "WarningStatus": {"open": N_("Still open"), "recalled": N_("Recalled"), "expired": N_("Expired")},
    "InsightRunStatus": {"running": N_("running"), "done": N_("done"), "failed": N_("failed")},
    # Assessment cycles (人才盘点, siyu.talent.cycle_*).
    "AssessmentOutcome": {
        "promote": N_("Promote (进)"),
        "keep": N_("Keep (留)"),
        "transfer": N_("Transfer (转)"),
        "exit": N_("Exit (退)"),
    },
    "CycleStatus": {"open": N_("Open for scoring"), "closed": N_("Closed")},
    "AssessmentStatus": {"draft": N_("Draft"), "submitted": N_("Submitted")},
    # Role map (siyu.talent.contract).
    "ValueStage": {
        "acquisition": N_("Acquisition (获客引流)"),
        "retention_conversion": N_("Retention & conversion (留存转化)"),
        "repurchase_fission": N_("Repurchase & referral (复购裂变)"),
    },
    "RolePosition": {"lead": N_("Lead role"), "supporting": N_("Supporting role")},
    # Org advisor (siyu.talent.advisor).
    "SalesModel": {
        "distributors": N_("Through others' shelves (distributors, supermarkets, shops)"),
        "own_stores": N_("Through our own stores and guides"),
        "ecommerce": N_("Through online shops"),
        "mixed": N_("Mixed online and offline"),
    },
    "DomainPurpose": {
        "sales_channel": N_("A sales channel"),
        "user_cultivation": N_("Cultivating and retaining users"),
    },
    "OrgStructure": {
        "virtual_project_team": N_("Virtual project team (seconded from existing departments)"),
        "team_in_marketing": N_("A team inside marketing"),
        "team_in_sales": N_("A team inside sales"),
        "first_level_growth": N_("First-level department, user-growth-driven"),
        "first_level_digital": N_("First-level department, digital-enablement type"),
    },
    "BuildMode": {
        "in_house": N_("Build in-house"),
        "partner": N_("Core people in-house, operations with a service partner"),
    },
    "Expertise": {
        "none": N_("Nobody"),
        "knows": N_("Someone understands it (has not run one)"),
        "done": N_("Someone has run a private domain before"),
    },
    "BrandStage": {
        "launch": N_("Launch (启动期)"),
        "growth": N_("Growth (中期)"),
        "steady": N_("Steady (稳定期)"),
    },
}


def label_msgid(value: object, kind: str | None = None) -> str | None:
    """The msgid for value (a StrEnum member, or a code of table kind), or None when it has none."""
    if value is None:
        return None
    table = LABELS.get(kind or type(value).__name__)
    if table is None:
        return None
    return table.get(value.value if isinstance(value, StrEnum) else str(value))


def choices(kind: str) -> list[tuple[str, str]]:
    """(code, msgid) pairs of a table, for select options."""
    return list(LABELS[kind].items())
