"""The seeded KPI sets, role × stage → weighted catalog metrics, taken from the source articles (seeds 000, 001).

Launch (启动期): user and activity metrics. Growth (中期): results — store-visit, conversion and referral
rates. Steady (稳定期): management — output per person (人均产出营收额), plus the later-stage depth metrics
(recall of lost users, high-value share). The head of private domain is measured on total private users,
retention by channel, GMV and ROI in every stage; ROI has no catalog metric until ads exist, so the head's
sets carry a note saying so instead of an item.
"""

from __future__ import annotations

from siyu.models import BrandStage

HEAD_ROLE = "private_domain_lead"  # the head of private domain (私域负责人 / 操盘手)
ROI_NOTE = "ROI（短期/长效）待投放数据接入后加入；在此之前本套指标不含 ROI。"

# One item: (metric code, weight, note or None). Each set's weights sum to 100.
Item = tuple[str, int, str | None]

_HEAD_RETENTION: list[Item] = [
    ("retention_rate_30d_wecom", 10, "企微留存"),
    ("retention_rate_30d_wechat_personal", 5, "个微留存"),
    ("retention_rate_30d_group", 5, "社群留存"),
]

SEED_SETS: dict[tuple[str, BrandStage], tuple[list[Item], str | None]] = {
    # --- head of private domain: users, retention by channel, GMV (and ROI once ads exist) ---------------
    (HEAD_ROLE, BrandStage.launch): (
        [
            ("private_users", 50, "小程序、社群、会员、企微+个微的用户总量"),
            *_HEAD_RETENTION,
            ("gmv", 30, None),
        ],
        ROI_NOTE,
    ),
    (HEAD_ROLE, BrandStage.growth): (
        [("private_users", 30, "私域用户总量"), *_HEAD_RETENTION, ("gmv", 50, None)],
        ROI_NOTE,
    ),
    (HEAD_ROLE, BrandStage.steady): (
        [
            ("private_users", 20, "私域用户总量"),
            *_HEAD_RETENTION,
            ("gmv", 40, None),
            ("revenue_per_staff", 20, "人均产出营收额"),
        ],
        ROI_NOTE,
    ),
    # --- shopping guides ------------------------------------------------------------------------------
    ("guide", BrandStage.launch): (
        [
            ("new_contacts", 30, "新增好友"),
            ("net_growth", 20, "净增"),
            ("moments_posts", 15, "朋友圈发布"),
            ("greetings_sent", 10, "节日问候"),
            ("task_on_time_rate", 15, None),
            ("reply_within_3min_rate", 10, None),
        ],
        "启动期：用户指标与活动指标",
    ),
    ("guide", BrandStage.growth): (
        [
            ("store_visit_rate", 25, "到店率"),
            ("conversion_rate", 30, "转化率"),
            ("referral_rate", 20, "转介绍率"),
            ("gmv", 15, None),
            ("task_on_time_rate", 10, None),
        ],
        "中期：结果指标",
    ),
    ("guide", BrandStage.steady): (
        [
            ("gmv", 35, None),
            ("repurchase_rate", 20, None),
            ("recall_rate", 15, "流失用户召回率"),
            ("high_value_share", 15, "高价值用户占比"),
            ("task_on_time_rate", 15, None),
        ],
        "稳定期：产出与用户深度",
    ),
    # --- store managers -------------------------------------------------------------------------------
    ("store_manager", BrandStage.launch): (
        [("new_contacts", 40, None), ("net_growth", 30, None), ("task_on_time_rate", 30, None)],
        "启动期：用户指标与活动指标",
    ),
    ("store_manager", BrandStage.growth): (
        [
            ("store_visit_rate", 25, None),
            ("conversion_rate", 25, None),
            ("referral_rate", 20, None),
            ("gmv", 30, None),
        ],
        "中期：结果指标",
    ),
    ("store_manager", BrandStage.steady): (
        [
            ("revenue_per_staff", 40, "人均产出营收额"),
            ("gmv", 25, None),
            ("recall_rate", 20, None),
            ("high_value_share", 15, None),
        ],
        "稳定期：管理指标（人效）",
    ),
    # --- region managers ------------------------------------------------------------------------------
    ("region_manager", BrandStage.launch): (
        [("private_users", 40, None), ("new_contacts", 30, None), ("task_on_time_rate", 30, None)],
        "启动期：用户指标与活动指标",
    ),
    ("region_manager", BrandStage.growth): (
        [("conversion_rate", 30, None), ("store_visit_rate", 20, None), ("gmv", 50, None)],
        "中期：结果指标",
    ),
    ("region_manager", BrandStage.steady): (
        [("revenue_per_staff", 50, "人均产出营收额"), ("gmv", 30, None), ("recall_rate", 20, None)],
        "稳定期：管理指标（人效）",
    ),
    # --- user operations: tiers, churn, lifecycle ------------------------------------------------------
    ("user_ops", BrandStage.launch): (
        [("private_users", 40, None), ("new_contacts", 30, None), ("retention_rate_30d", 30, None)],
        "启动期：用户指标",
    ),
    ("user_ops", BrandStage.growth): (
        [("conversion_rate", 40, None), ("repurchase_rate", 30, None), ("retention_rate_30d", 30, None)],
        "中期：结果指标",
    ),
    ("user_ops", BrandStage.steady): (
        [("recall_rate", 35, None), ("high_value_share", 35, None), ("retention_rate_90d", 30, None)],
        "稳定期：用户深度",
    ),
}


def seeded_codes() -> set[str]:
    """Every metric code the seeded sets use."""
    return {code for items, _note in SEED_SETS.values() for code, _w, _n in items}
