"""Brute-force recomputation of every catalog metric from raw rows, written from the catalog's definitions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from siyu.insights.contract import HIGH_VALUE_SEGMENTS
from siyu.performance.contract import COMPANY_SUBJECT_ID, Period, SubjectKind
from siyu.performance.settings import PerformanceSettings
from tests.performance.dataset import Raw

ONE_TO_ONE = {"wecom", "wechat_personal"}
LOST = {"customer_deleted_staff", "left_group"}
CHANNELS = ("wecom", "wechat_personal", "group", "miniprogram", "member", "official_account")
Item = tuple[int | None, int | None, tuple[float, ...]]  # (staff, unit, values summed per subject)


class Naive:
    """Per-metric brute force for one period; values per subject as plain numbers or (num, den) pairs."""

    def __init__(self, raw: Raw, period: Period, zone: ZoneInfo, settings: PerformanceSettings) -> None:
        self.raw, self.period, self.zone, self.settings = raw, period, zone, settings
        self.start, self.end = period.utc_range(zone)
        self.as_of = settings.as_of

    # --- attribution ---------------------------------------------------------------------------

    def staff_unit(self, staff_id: int | None) -> int | None:
        return None if staff_id is None else self.raw.staff[staff_id]["unit_id"]

    def by_customer(self, cid: int) -> tuple[int | None, int | None]:
        c = self.raw.customers[cid]
        owner = c["owner_staff_id"]
        return owner, self.staff_unit(owner) if owner else c["home_store_id"]

    def by_order(self, o: dict[str, Any]) -> tuple[int | None, int | None]:
        c = self.raw.customers[o["customer_id"]]
        who = o["staff_id"] or c["owner_staff_id"]
        return who, self.staff_unit(who) if who else (o["store_id"] or c["home_store_id"])

    def by_membership(self, m: dict[str, Any]) -> tuple[int | None, int | None]:
        c = self.raw.customers[m["customer_id"]]
        who = m["staff_id"] or c["owner_staff_id"]
        return who, self.staff_unit(who) if who else c["home_store_id"]

    def subjects(self, kind: SubjectKind) -> list[int]:
        if kind is SubjectKind.staff:
            return list(self.raw.staff)
        if kind is SubjectKind.unit:
            return list(self.raw.units)
        return [COMPANY_SUBJECT_ID]

    def per_subject(self, kind: SubjectKind, items: Iterable[Item]) -> dict[int, tuple[float, ...]]:
        """Sum items over the facts each subject covers (unit: its subtree by path; company: all)."""
        listed = list(items)
        out: dict[int, tuple[float, ...]] = {}
        for subject in self.subjects(kind):
            if kind is SubjectKind.staff:
                mine = [v for s, _, v in listed if s == subject]
            elif kind is SubjectKind.unit:
                tree = self.raw.subtree(subject)
                mine = [v for _, u, v in listed if u is not None and u in tree]
            else:
                mine = [v for _, _, v in listed]
            if mine:
                out[subject] = tuple(sum(col) for col in zip(*mine, strict=True))
        return out

    # --- helpers -------------------------------------------------------------------------------

    def in_period(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def live(self) -> list[int]:
        return [cid for cid, c in self.raw.customers.items() if c["merged_into_id"] is None]

    def counted(self, o: dict[str, Any]) -> bool:
        return bool(o["refund_fen"] < o["amount_fen"])

    # --- metric families -----------------------------------------------------------------------

    def private_users(self, channel: str | None) -> list[Item]:
        present = {
            m["customer_id"]
            for m in self.raw.memberships
            if m["joined_at"] < self.end
            and (m["left_at"] is None or m["left_at"] >= self.end)
            and (channel is None or m["channel"] == channel)
        }
        high = set(self.settings.high_value_tiers)
        out: list[Item] = []
        for cid in self.live():
            if cid in present:
                tier = self.raw.customers[cid]["member_tier"]
                out.append((*self.by_customer(cid), (1.0 if tier in high else 0.0, 1.0)))
        return out

    def memberships(self, predicate: Callable[[dict[str, Any]], bool]) -> list[Item]:
        return [(*self.by_membership(m), (1.0,)) for m in self.raw.memberships if predicate(m)]

    def retention(self, days: int, channel: str | None) -> list[Item]:
        assert self.as_of is not None
        out: list[Item] = []
        for m in self.raw.memberships:
            if not self.in_period(m["joined_at"]) or (channel is not None and m["channel"] != channel):
                continue
            if m["joined_at"] + timedelta(days=days) > self.as_of:
                continue
            kept = m["left_at"] is None or m["left_at"] >= m["joined_at"] + timedelta(days=days)
            out.append((*self.by_membership(m), (1.0 if kept else 0.0, 1.0)))
        return out

    def orders(self) -> list[Item]:
        return [
            (*self.by_order(o), (float(o["amount_fen"] - o["refund_fen"]), 1.0 if self.counted(o) else 0.0))
            for o in self.raw.orders
            if self.in_period(o["paid_at"])
        ]

    def headcount(self) -> list[Item]:
        out: list[Item] = []
        for sid, s in self.raw.staff.items():
            if self.settings.headcount.value == "active_now":
                if s["status"] == "active":
                    out.append((sid, s["unit_id"], (1.0,)))
                continue
            hired_ok = s["hired_on"] is None or s["hired_on"] <= self.period.last
            left_ok = s["left_on"] is None or s["left_on"] >= self.period.first
            if hired_ok and left_ok:
                out.append((sid, s["unit_id"], (1.0,)))
        return out

    def population_share(self, hit: set[int]) -> list[Item]:
        pop = {
            m["customer_id"]
            for m in self.raw.memberships
            if m["joined_at"] < self.end and (m["left_at"] is None or m["left_at"] >= self.start)
        }
        return [(*self.by_customer(c), (1.0 if c in hit else 0.0, 1.0)) for c in self.live() if c in pop]

    def buyers(self) -> dict[int, int]:
        n: dict[int, int] = defaultdict(int)
        for o in self.raw.orders:
            if self.in_period(o["paid_at"]) and self.counted(o):
                n[o["customer_id"]] += 1
        return n

    def repurchase(self) -> list[Item]:
        live = set(self.live())
        return [
            (*self.by_customer(c), (1.0 if k >= 2 else 0.0, 1.0))
            for c, k in self.buyers().items()
            if c in live
        ]

    def recall(self) -> list[Item]:
        last: dict[int, datetime] = {}
        for o in self.raw.orders:
            if o["paid_at"] < self.start:
                c = o["customer_id"]
                last[c] = max(last.get(c, o["paid_at"]), o["paid_at"])
        cutoff = self.start - timedelta(days=self.settings.lost_after_days)
        bought = self.buyers()
        live = set(self.live())
        return [
            (*self.by_customer(c), (1.0 if bought.get(c) else 0.0, 1.0))
            for c, t in last.items()
            if t < cutoff and c in live
        ]

    def rfm(self) -> list[Item]:
        """Live customers scored on the last computed day ≤ the period's last day: (high-value?, 1)."""
        days = [r["computed_on"] for r in self.raw.snapshots if r["computed_on"] <= self.period.last]
        if not days:
            return []
        latest, live = max(days), set(self.live())
        return [
            (
                *self.by_customer(r["customer_id"]),
                (1.0 if r["rfm_segment"] in HIGH_VALUE_SEGMENTS else 0.0, 1.0),
            )
            for r in self.raw.snapshots
            if r["computed_on"] == latest and r["customer_id"] in live
        ]

    def warnings(self) -> list[Item]:
        """Warnings issued in the period, by their copied owner (else home store): (recalled?, 1)."""
        out: list[Item] = []
        for w in self.raw.warnings:
            if self.period.first <= w["warned_on"] <= self.period.last:
                owner = w["owner_staff_id"]
                unit = self.staff_unit(owner) if owner else w["home_store_id"]
                out.append((owner, unit, (1.0 if w["status"] == "recalled" else 0.0, 1.0)))
        return out

    def tasks(self, column: int) -> list[Item]:
        """column 0 done, 1 moments, 2 greetings, 3 (on time, due)."""
        s = self.settings
        out: list[Item] = []
        for t in self.raw.tasks:
            unit = self.staff_unit(t["staff_id"])
            done = t["status"] == "done" and self.in_period(t["done_at"])
            kinds = {1: s.moments_task_kinds, 2: s.greeting_task_kinds}
            if column in (0, 1, 2) and done and (column == 0 or t["kind"] in kinds[column]):
                out.append((t["staff_id"], unit, (1.0,)))
            if column == 3 and self.in_period(t["due_at"]) and t["status"] != "cancelled":
                on_time = t["status"] == "done" and t["done_at"] <= t["due_at"]
                out.append((t["staff_id"], unit, (1.0 if on_time else 0.0, 1.0)))
        return out

    def waits(self) -> list[tuple[int, int, float | None]]:
        """(staff, customer, reply delay or None) of each customer message counted by the response metrics."""
        pairs: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for m in self.raw.messages:
            if (
                m["staff_id"]
                and m["customer_id"]
                and m["direction"] in ("staff_to_customer", "customer_to_staff")
            ):
                pairs[(m["staff_id"], m["customer_id"])].append(m)
        s = self.settings
        lo = s.work_start.hour * 3600 + s.work_start.minute * 60
        hi = s.work_end.hour * 3600 + s.work_end.minute * 60
        out: list[tuple[int, int, float | None]] = []
        for (staff_id, cid), msgs in pairs.items():
            msgs.sort(key=lambda m: (m["sent_at"], m["id"]))
            for i, m in enumerate(msgs):
                if m["direction"] != "customer_to_staff" or not self.in_period(m["sent_at"]):
                    continue
                wall = m["sent_at"].astimezone(self.zone)
                if not lo <= wall.hour * 3600 + wall.minute * 60 + wall.second < hi:
                    continue
                reply = next((r for r in msgs[i + 1 :] if r["direction"] == "staff_to_customer"), None)
                delay = None if reply is None else (reply["sent_at"] - m["sent_at"]).total_seconds()
                if delay is not None and delay > s.reply_window_hours * 3600:
                    delay = None
                out.append((staff_id, cid, delay))
        return out

    # --- the catalog ---------------------------------------------------------------------------

    def items(self, code: str) -> tuple[str, list[Item]]:
        """('count' | 'ratio' | 'diff', items) for a metric code."""
        if code == "private_users" or code.startswith("private_users_"):
            channel = None if code == "private_users" else code.removeprefix("private_users_")
            return "count", [(s, u, (v[1],)) for s, u, v in self.private_users(channel)]
        if code == "high_value_share":
            return "ratio", self.private_users(None)
        if code == "new_contacts":
            return "count", self.memberships(
                lambda m: m["channel"] in ONE_TO_ONE and self.in_period(m["joined_at"])
            )
        if code == "net_growth":
            new: list[Item] = [(s, u, (1.0, 0.0)) for s, u, _ in self.items("new_contacts")[1]]
            ended = self.memberships(lambda m: m["channel"] in ONE_TO_ONE and self.in_period(m["left_at"]))
            return "diff", new + [(s, u, (0.0, 1.0)) for s, u, _ in ended]
        if code == "customers_lost":
            return "count", self.memberships(
                lambda m: m["leave_reason"] in LOST and self.in_period(m["left_at"])
            )
        if code.startswith("retention_rate_"):
            rest = code.removeprefix("retention_rate_")
            days_text, _, channel = rest.partition("d")
            return "ratio", self.retention(int(days_text), channel.removeprefix("_") or None)
        if code in ("gmv", "orders", "avg_order_value"):
            rows = self.orders()
            if code == "gmv":
                return "count", [(s, u, (v[0],)) for s, u, v in rows]
            if code == "orders":
                return "count", [(s, u, (v[1],)) for s, u, v in rows]
            return "ratio", rows
        if code == "revenue_per_staff":
            gmv: list[Item] = [(s, u, (v[0], 0.0)) for s, u, v in self.orders()]
            return "ratio", gmv + [(s, u, (0.0, 1.0)) for s, u, _ in self.headcount()]
        if code == "conversion_rate":
            return "ratio", self.population_share(set(self.buyers()))
        if code == "store_visit_rate":
            return "ratio", self.population_share({v["customer_id"] for v in self.raw.visits if self.in_period(v["visited_at"])})  # fmt: skip
        if code == "referral_rate":
            return "ratio", self.population_share({r["referrer_id"] for r in self.raw.referrals if self.in_period(r["referred_at"])})  # fmt: skip
        if code == "repurchase_rate":
            return "ratio", self.repurchase()
        if code == "recall_rate":
            return "ratio", self.recall()
        if code == "rfm_high_value_share":
            return "ratio", self.rfm()
        if code == "warning_recall_rate":
            return "ratio", self.warnings()
        if code in ("tasks_done", "moments_posts", "greetings_sent"):
            return "count", self.tasks(("tasks_done", "moments_posts", "greetings_sent").index(code))
        if code == "task_on_time_rate":
            return "ratio", self.tasks(3)
        if code in ("first_response_seconds", "reply_within_3min_rate", "unanswered_customers"):
            waits = self.waits()
            unit = self.staff_unit
            if code == "first_response_seconds":
                return "ratio", [(s, unit(s), (d, 1.0)) for s, _, d in waits if d is not None]
            if code == "reply_within_3min_rate":
                fast = self.settings.fast_reply_seconds
                return "ratio", [(s, unit(s), (1.0 if d is not None and d <= fast else 0.0, 1.0)) for s, _, d in waits]  # fmt: skip
            pairs = {(s, c) for s, c, d in waits if d is None}
            return "count", [(s, unit(s), (1.0,)) for s, _ in pairs]
        if code == "sensitive_incidents":
            # Confirmed incidents that occurred in the period, on the incident's staff and recorded unit.
            return "count", [
                (i["staff_id"], i["unit_id"], (1.0,))
                for i in self.raw.incidents
                if i["status"] == "confirmed" and self.in_period(i["occurred_at"])
            ]
        if code.startswith("wecom_"):
            return self.wecom(code)
        raise KeyError(code)

    def wecom(self, code: str) -> tuple[str, list[Item]]:
        """WeCom snapshot metrics: rows whose day lies in first..last; missing days add nothing."""
        p = self.period
        if code == "wecom_group_messages":
            groups = [g for g in self.raw.wecom_groups if p.first <= g["day"] <= p.last]
            return "count", [(g["staff_id"], self.staff_unit(g["staff_id"]), (float(g["msg_total"]),)) for g in groups]  # fmt: skip
        rows = [b for b in self.raw.wecom_behaviour if p.first <= b["day"] <= p.last]
        out: list[Item] = []
        for b in rows:
            who, chats = b["staff_id"], b["chat_cnt"]
            if code == "wecom_reply_rate":
                if b["reply_percentage"] is None or not chats:
                    continue
                values: tuple[float, ...] = (b["reply_percentage"] / 100 * chats, float(chats))
            elif code == "wecom_avg_reply_seconds":
                if b["avg_reply_time"] is None or not chats:
                    continue
                values = (b["avg_reply_time"] * 60.0 * chats, float(chats))
            else:
                column = {"wecom_new_contacts": "new_contact_cnt", "wecom_negative_feedback": "negative_feedback_cnt",
                          "wecom_chats": "chat_cnt", "wecom_messages": "message_cnt"}[code]  # fmt: skip
                values = (float(b[column]),)
            out.append((who, self.staff_unit(who), values))
        return ("ratio" if code in ("wecom_reply_rate", "wecom_avg_reply_seconds") else "count"), out

    def values(self, code: str, kind: SubjectKind) -> dict[int, Any]:
        """Counts: subject → non-zero value; ratios: subject → (num, den) with den > 0; diffs: (new, ended)."""
        how, items = self.items(code)
        sums = self.per_subject(kind, items)
        if how == "count":
            return {s: v[0] for s, v in sums.items() if v[0]}
        if how == "diff":
            return {s: (v[0], v[1]) for s, v in sums.items() if v[0] or v[1]}
        return {s: (v[0], v[1]) for s, v in sums.items() if v[1]}
