"""Staff tasks: SOP follow-ups, moments posts, holiday greetings and recalls — done, overdue or upcoming."""

from __future__ import annotations

import numpy as np

from siyu.demo import eventlog
from siyu.demo.channels import WECOM, Memberships
from siyu.demo.customers import People
from siyu.demo.org import OrgData
from siyu.demo.timeline import DAY, HOUR, NO_TIME, Calendar, to_date
from siyu.demo.writer import Codes, Ints, Times, Values, Writer
from siyu.models import StaffTask

KINDS = ("follow_up", "moments_post", "holiday_greeting", "recall")
FOLLOW_UP, MOMENTS, GREETING, RECALL = range(4)
STATUSES = ("open", "done", "cancelled")
OPEN, DONE, CANCELLED = range(3)
SOP_DAYS = (1, 3, 7)
# The SOP journeys and task lists were switched on this many days before as_of.
TASKS_SINCE_DAYS = 120
MOMENTS_CONTENT = (
    "秋冬宝宝护肤指南",
    "新品奶粉试喝活动",
    "会员日福利预告",
    "育儿讲座回顾",
    "宝宝辅食食谱",
    "门店新品到货",
)
FOLLOW_EVIDENCE = (
    "已私聊跟进，客户反馈宝宝适应良好",
    "已电话回访，客户暂无需求",
    "已发送育儿资料包",
    "客户已到店体验",
)


def write_tasks(
    rng: np.random.Generator,
    cal: Calendar,
    org: OrgData,
    people: People,
    ms: Memberships,
    stage: np.ndarray,
    writer: Writer,
) -> None:
    """Write staff tasks and a task_done event for each completed one."""
    writer.reporter.step("staff tasks")
    since = cal.end - TASKS_SINCE_DAYS * DAY
    horizon = cal.end + 7 * DAY
    left = org.left_or_never()
    parts: list[tuple[np.ndarray, ...]] = []

    def add(kind: int, staff: np.ndarray, cust: np.ndarray, due: np.ndarray, title: list[str], origin: str,
            cancel_at: np.ndarray | None = None, earliest: int = since) -> None:  # fmt: skip
        employed = (org.hired[staff] <= due) & (due < left[staff])
        idx = np.flatnonzero(employed & (due >= earliest) & (due < horizon))
        cancel = np.full(len(due), NO_TIME) if cancel_at is None else cancel_at
        parts.append(
            (np.full(len(idx), kind), staff[idx], cust[idx], due[idx], cancel[idx],
             np.asarray(title, dtype=object)[idx], np.full(len(idx), origin, dtype=object))
        )  # fmt: skip

    # SOP follow-ups on day 1, 3 and 7 after a new WeCom contact (not for handed-over contacts).
    new = np.flatnonzero((ms.channel == WECOM) & ~ms.handover & (ms.joined >= since - 8 * DAY))
    for d in SOP_DAYS:
        due = cal.at_local_time(ms.joined[new] + d * DAY, np.full(len(new), 18 * HOUR))
        titles = [f"新客第{d}天跟进：{people.name[c]}" for c in ms.cust[new].tolist()]
        add(FOLLOW_UP, ms.staff[new], ms.cust[new], due, titles, f"sop:new-contact-d{d}", ms.left[new])

    # Recall tasks for sleeping customers whose guide is still with them.
    sleepy = np.flatnonzero((stage == 2) & (ms.owner >= 0))
    due = cal.end + rng.integers(-30, 7, len(sleepy)) * DAY + 11 * HOUR
    titles = [f"沉睡客户召回：{people.name[c]}" for c in sleepy.tolist()]
    add(RECALL, ms.owner[sleepy], sleepy, due, titles, "recall:sleeping")

    guides = np.flatnonzero(np.array([r == "guide" for r in org.staff_role]))
    first_day = (since - cal.start) // DAY
    days = np.arange(first_day, cal.days + 7)
    post_days = days[[(to_date(cal.start + int(d) * DAY).weekday() in (0, 2, 4)) for d in days]]
    g = np.repeat(guides, len(post_days))
    day = np.tile(post_days, len(guides))
    due = cal.start + day * DAY + 20 * HOUR
    titles = [f"朋友圈任务：{MOMENTS_CONTENT[int(d) % len(MOMENTS_CONTENT)]}" for d in day.tolist()]
    add(MOMENTS, g, np.full(len(g), -1), due, titles, "content-pack")

    greeters = np.flatnonzero(np.array([r in ("guide", "store_manager") for r in org.staff_role]))
    holidays = [(name, t) for name, t in cal.holidays() if t >= since - 250 * DAY]
    for name, t in holidays:
        due = np.full(len(greeters), t + 10 * HOUR)
        # Greeting tasks are older than the SOPs, so they reach back further.
        add(GREETING, greeters, np.full(len(greeters), -1), due, [f"{name}祝福群发"] * len(greeters),
            f"holiday:{name}", earliest=since - 250 * DAY)  # fmt: skip

    kind = np.concatenate([p[0] for p in parts]).astype(np.int64)
    staff = np.concatenate([p[1] for p in parts]).astype(np.int64)
    cust = np.concatenate([p[2] for p in parts]).astype(np.int64)
    due = np.concatenate([p[3] for p in parts]).astype(np.int64)
    cancel = np.concatenate([p[4] for p in parts]).astype(np.int64)
    title = np.concatenate([p[5] for p in parts])
    origin = np.concatenate([p[6] for p in parts])
    n = len(kind)
    # Diligent staff finish most tasks, some late; customers who left before the due date cancel the task.
    finish = rng.random(n) < org.diligence[staff]
    early = rng.integers(-8 * HOUR, 0, n)
    late = rng.integers(HOUR, 2 * DAY, n)
    done_at = due + np.where(rng.random(n) < 0.8, early, late)
    status = np.full(n, OPEN)
    past = due < cal.end
    status[past & finish & (done_at < cal.end)] = DONE
    cancelled = (cancel != NO_TIME) & (cancel < due)
    status[cancelled] = CANCELLED
    done_at = np.where(status == DONE, done_at, NO_TIME)
    evidence: list[str | None] = []
    for k, st, s, d in zip(kind.tolist(), status.tolist(), staff.tolist(), due.tolist(), strict=True):
        if st != DONE:
            evidence.append(None)
        elif k == MOMENTS:
            evidence.append(f"moments/{to_date(d).isoformat()}/{org.staff_userids[s]}.jpg")
        elif k == GREETING:
            evidence.append(f"已群发给{40 + (d // 3600 + s) % 260}位客户")
        else:
            evidence.append(FOLLOW_EVIDENCE[(d // 60 + s) % len(FOLLOW_EVIDENCE)])
    order = np.argsort(due, kind="stable")
    first = writer.reserve(StaffTask.__table__, n)  # type: ignore[arg-type]
    ids = np.arange(first, first + n, dtype=np.int64)
    staff_ids = org.staff_ids[staff[order]]
    cust_ids = np.where(cust[order] >= 0, people.ids[np.maximum(cust[order], 0)], -1)
    evidence_sorted = [evidence[i] for i in order.tolist()]
    writer.write(
        StaffTask.__table__,  # type: ignore[arg-type]
        n,
        {
            "id": Ints(ids),
            "kind": Codes(kind[order], KINDS),
            "title": Values(title[order].tolist()),
            "staff_id": Ints(staff_ids),
            "customer_id": Ints(cust_ids, nullable=True),
            "group_id": Ints(np.full(n, -1), nullable=True),
            "due_at": Times(due[order]),
            "status": Codes(status[order], STATUSES),
            "done_at": Times(done_at[order]),
            "evidence": Values(evidence_sorted),
            "origin": Values(origin[order].tolist()),
            "created_at": Times(due[order] - np.where(kind[order] == FOLLOW_UP, DAY, 3 * DAY)),
        },
    )
    done = np.flatnonzero(status[order] == DONE)
    by_time = done[np.argsort(done_at[order][done], kind="stable")]
    eventlog.emit(
        writer,
        eventlog.TASK_DONE,
        done_at[order][by_time],
        customer=cust_ids[by_time],
        staff=staff_ids[by_time],
        unit=np.where(
            org.staff_store[staff[order][by_time]] >= 0,
            org.store_ids[np.maximum(org.staff_store[staff[order][by_time]], 0)],
            -1,
        ),
        subject_type="staff_task",
        subject_id=ids[by_time],
        data=eventlog.json_text(
            '{{"task_kind": "{0}"}}', np.asarray(KINDS, dtype=object)[kind[order][by_time]]
        ),
    )
