"""The demo brand's org tree (company, regions, stores, the private-domain centre) and its staff."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from siyu.demo import names
from siyu.demo.timeline import DAY, NO_TIME, Calendar, TimeText
from siyu.demo.writer import Codes, Const, Ints, Times, Values, Writer
from siyu.models import OrgUnit, Staff, StaffRole

# The central private-domain team: (team code, team name, [(role code, headcount)]).
CENTRAL_TEAMS: tuple[tuple[str, str, tuple[tuple[str, int], ...]], ...] = (
    ("pd-user", "用户运营组", (("user_ops", 4), ("member_ops", 2))),
    ("pd-content", "内容组", (("content_ops", 2), ("copywriter", 2), ("designer", 2))),
    ("pd-campaign", "活动组", (("campaign_planner", 2),)),
    ("pd-data", "数据与产品组", (("data_analyst", 2), ("product_ops", 1))),
    ("pd-growth", "投放组", (("ad_buyer", 2),)),
)
NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class OrgPlan:
    """How big the org is for a given customer count."""

    stores: int
    guides_per_store: float

    @classmethod
    def for_customers(cls, customers: int) -> OrgPlan:
        """24 stores and ~4 guides each by default; fewer for tiny demos, mildly more above 200k."""
        if customers <= 200_000:
            stores = min(24, max(3, 3 * round(customers / 1_000)))
            return cls(stores=stores, guides_per_store=4.0)
        factor = math.sqrt(customers / 200_000)
        return cls(stores=3 * round(8 * factor), guides_per_store=4.0 * factor**0.5)


@dataclass
class OrgData:
    """Ids and per-staff traits the other generators draw on (staff arrays are indexed 0..T-1)."""

    company_id: int
    department_id: int
    region_ids: np.ndarray
    region_codes: list[str]
    store_ids: np.ndarray
    store_codes: list[str]
    store_names: list[str]
    store_cities: list[str]
    store_region: np.ndarray
    store_open: np.ndarray
    store_weight: np.ndarray
    staff_ids: np.ndarray
    staff_codes: list[str]
    staff_names: list[str]
    staff_userids: list[str]
    staff_role: list[str]
    staff_store: np.ndarray
    hired: np.ndarray
    left: np.ndarray
    stable: np.ndarray
    diligence: np.ndarray
    responsiveness: np.ndarray
    capacity: np.ndarray
    store_guides: list[np.ndarray] = field(default_factory=list)
    replacement: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def left_or_never(self) -> np.ndarray:
        """Leave time, or a far-future time for staff still employed."""
        return np.where(self.left == NO_TIME, NEVER, self.left)

    def pick_guides(
        self, rng: np.random.Generator, store: np.ndarray, times: np.ndarray, stable_only: bool = False
    ) -> np.ndarray:
        """A guide of each store employed at each time, weighted by capacity (-1 if none)."""
        out = np.full(len(store), -1, dtype=np.int64)
        left = self.left_or_never()
        for s, guides in enumerate(self.store_guides):
            rows = np.flatnonzero(store == s)
            if len(rows) == 0 or len(guides) == 0:
                continue
            t = times[rows][:, None]
            active = (self.hired[guides][None, :] <= t) & (t < left[guides][None, :])
            if stable_only:
                active &= self.stable[guides][None, :]
            weights = np.cumsum(active * self.capacity[guides][None, :], axis=1)
            total = weights[:, -1]
            u = rng.random(len(rows)) * total
            choice = (weights <= u[:, None]).sum(axis=1)
            out[rows] = np.where(total > 0, guides[np.minimum(choice, len(guides) - 1)], -1)
        return out


def build_org(rng: np.random.Generator, cal: Calendar, plan: OrgPlan, writer: Writer) -> OrgData:
    """Generate and write org units, staff and staff roles."""
    writer.reporter.step("org tree and staff")
    per_region = plan.stores // 3
    units: list[tuple[int, str, str, str, str | None, int]] = []  # (parent idx, kind, code, name, city, open)
    units.append((-1, "company", "hq", f"{names.BRAND}（集团）", "上海", cal.start))
    store_rows: list[tuple[int, str, str, str, int]] = []  # (region unit idx, code, name, city, region no)
    region_unit_idx: list[int] = []
    for r, (rcode, rname, cities) in enumerate(names.REGIONS):
        region_unit_idx.append(len(units))
        units.append((0, "region", f"region-{rcode}", rname, cities[0][0], cal.start))
        malls = [(city, ccode, mall) for city, ccode, city_malls in cities for mall in city_malls]
        for j in range(per_region):
            if j < len(malls):
                city, ccode, mall = malls[j]
            else:  # big demos: more stores in the same cities, in other malls
                extra = j - len(malls)
                city, ccode, _ = cities[extra % len(cities)]
                mall = names.EXTRA_MALLS[extra % len(names.EXTRA_MALLS)]
                mall += "" if extra < len(names.EXTRA_MALLS) else f"{extra // len(names.EXTRA_MALLS) + 1}号"
            seq = sum(1 for s in store_rows if s[1].startswith(f"store-{ccode}-")) + 1
            store_rows.append((region_unit_idx[r], f"store-{ccode}-{seq:02d}", f"{city}{mall}店", city, r))
    n_stores = len(store_rows)
    # A few stores open during the window, so store-level KPIs have young stores to compare.
    store_open = np.full(n_stores, cal.start - 400 * DAY, dtype=np.int64)
    late = [r * per_region + per_region - 1 for r in range(3)] if per_region >= 4 else []
    for k, s in enumerate(late):
        store_open[s] = cal.start + int((0.15 + 0.2 * k) * cal.days) * DAY
    store_unit_idx = []
    for s, (parent, code, name, city, _r) in enumerate(store_rows):
        store_unit_idx.append(len(units))
        units.append((parent, "store", code, name, city, int(store_open[s])))
    dept_idx = len(units)
    units.append((0, "department", "pd-center", "私域运营中心", "上海", cal.start))
    team_idx: dict[str, int] = {}
    for tcode, tname, _roles in CENTRAL_TEAMS:
        team_idx[tcode] = len(units)
        units.append((dept_idx, "team", tcode, tname, "上海", cal.start))

    first_unit = writer.reserve(OrgUnit.__table__, len(units))  # type: ignore[arg-type]
    unit_ids = np.arange(first_unit, first_unit + len(units), dtype=np.int64)
    paths: list[str] = []
    depths: list[int] = []
    for i, (parent, *_rest) in enumerate(units):
        paths.append((paths[parent] if parent >= 0 else "/") + f"{unit_ids[i]}/")
        depths.append(depths[parent] + 1 if parent >= 0 else 0)
    writer.write(
        OrgUnit.__table__,  # type: ignore[arg-type]
        len(units),
        {
            "id": Ints(unit_ids),
            "parent_id": Ints(np.array([unit_ids[u[0]] if u[0] >= 0 else -1 for u in units]), nullable=True),
            "kind": Values([u[1] for u in units]),
            "code": Values([u[2] for u in units]),
            "name": Values([u[3] for u in units]),
            "path": Values(paths),
            "depth": Values(depths),
            "city": Values([u[4] for u in units]),
            "active": Const(True),
            "created_at": Times(np.array([u[5] for u in units], dtype=np.int64)),
        },
    )

    # Staff: (unit idx, store idx, role, hired, left, stable)
    staff: list[tuple[int, int, str, int, int, bool]] = []
    years = 365 * DAY
    staff.append(
        (dept_idx, -1, "private_domain_lead", cal.start - int(rng.uniform(0.3, 1.5) * years), NO_TIME, True)
    )
    for tcode, _tname, roles in CENTRAL_TEAMS:
        for role, headcount in roles:
            for _ in range(headcount):
                hired = cal.start + int(rng.uniform(-2.5, 0.6) * years)
                staff.append((team_idx[tcode], -1, role, hired, NO_TIME, hired < cal.start))
    for r in range(3):
        staff.append(
            (
                region_unit_idx[r],
                -1,
                "region_manager",
                cal.start - int(rng.uniform(1, 5) * years),
                NO_TIME,
                True,
            )
        )
    weights = rng.lognormal(0.0, 0.45, n_stores)
    weights[late] *= 0.6
    guides_per = np.clip(np.round(plan.guides_per_store * weights / weights.mean()), 3, 9).astype(int)
    store_guides: list[list[int]] = [[] for _ in range(n_stores)]
    leavers: list[int] = []
    for s in range(n_stores):
        opened = int(store_open[s])
        base = max(opened, cal.start)
        staff.append(
            (
                store_unit_idx[s],
                s,
                "store_manager",
                min(opened, cal.start) - int(rng.uniform(0.5, 3) * years),
                NO_TIME,
                True,
            )
        )
        for j in range(int(guides_per[s])):
            if j < 2:  # two anchor guides per store: someone is always there to take over customers
                hired = min(opened - 14 * DAY, cal.start - int(rng.uniform(0.2, 4) * years))
            else:
                hired = min(base + int(rng.uniform(-1.5, 0.8) * (cal.end - base)), cal.end - 30 * DAY)
            store_guides[s].append(len(staff))
            staff.append((store_unit_idx[s], s, "guide", hired, NO_TIME, hired < base))
    movable = [g for guides in store_guides for g in guides[2:] if staff[g][3] < cal.end - 120 * DAY]
    n_leave = max(1, round(0.08 * sum(guides_per)))
    for i in sorted(rng.choice(movable, size=min(n_leave, len(movable)), replace=False).tolist()):
        unit, s, role, hired, _left, _stable = staff[i]
        lo = max(hired + 60 * DAY, cal.start + 30 * DAY)
        day = int(rng.integers((lo - cal.start) // DAY + 1, cal.days - 14))
        left = cal.start + day * DAY
        staff[i] = (unit, s, role, hired, left, False)
        leavers.append(i)
        # Each leaver is replaced by a new hire a couple of weeks around the leave date.
        store_guides[s].append(len(staff))
        staff.append(
            (
                unit,
                s,
                "guide",
                min(left + int(rng.integers(-20, 25)) * DAY, cal.end - 7 * DAY),
                NO_TIME,
                False,
            )
        )
    # One copywriter left too; the central team is not immune to turnover.
    for i, row in enumerate(staff):
        if row[2] == "copywriter":
            staff[i] = (*row[:4], cal.start + int(0.55 * cal.days) * DAY, False)
            staff.append((row[0], -1, "copywriter", cal.start + int(0.5 * cal.days) * DAY, NO_TIME, False))
            break

    n = len(staff)
    role_codes = [row[2] for row in staff]
    staff_names, pinyins, _female = names.person_names(rng, n, 0.85)
    userids: list[str] = []
    seen: dict[str, int] = {}
    for py in pinyins:
        seen[py] = seen.get(py, 0) + 1
        userids.append(py if seen[py] == 1 else f"{py}{seen[py]:02d}")
    first_staff = writer.reserve(Staff.__table__, n)  # type: ignore[arg-type]
    staff_ids = np.arange(first_staff, first_staff + n, dtype=np.int64)
    # Employment starts at local midnight of the hire date, so hired_on and activity checks agree.
    hired_arr = np.array([row[3] for row in staff], dtype=np.int64)
    hired_arr = cal.start + (hired_arr - cal.start) // DAY * DAY
    left_arr = np.array([row[4] for row in staff], dtype=np.int64)
    codes = [f"E{1000 + i}" for i in range(n)]
    writer.write(
        Staff.__table__,  # type: ignore[arg-type]
        n,
        {
            "id": Ints(staff_ids),
            "code": Values(codes),
            "name": Values(staff_names),
            "unit_id": Ints(unit_ids[[row[0] for row in staff]]),
            "status": Codes((left_arr != NO_TIME).astype(np.int64), ["active", "left"]),
            "hired_on": Values([TimeText.date_text(int(h)) for h in hired_arr]),
            "left_on": Values([TimeText.date_text(int(v)) for v in left_arr]),
            "wecom_userid": Values(userids),
            "phone": Values(names.phones(np.arange(n) + 90_000_000, rng, salt=17)),
            "created_at": Times(hired_arr),
        },
    )
    writer.write(
        StaffRole.__table__,  # type: ignore[arg-type]
        n,
        {"staff_id": Ints(staff_ids), "role_code": Values(role_codes)},
    )
    replacement = np.full(n, -1, dtype=np.int64)
    org = OrgData(
        company_id=int(unit_ids[0]),
        department_id=int(unit_ids[dept_idx]),
        region_ids=unit_ids[region_unit_idx],
        region_codes=[f"region-{r[0]}" for r in names.REGIONS],
        store_ids=unit_ids[store_unit_idx],
        store_codes=[s[1] for s in store_rows],
        store_names=[s[2] for s in store_rows],
        store_cities=[s[3] for s in store_rows],
        store_region=np.array([s[4] for s in store_rows], dtype=np.int64),
        store_open=store_open,
        store_weight=weights,
        staff_ids=staff_ids,
        staff_codes=codes,
        staff_names=staff_names,
        staff_userids=userids,
        staff_role=role_codes,
        staff_store=np.array([row[1] for row in staff], dtype=np.int64),
        hired=hired_arr,
        left=left_arr,
        stable=np.array([row[5] for row in staff], dtype=bool),
        diligence=np.clip(rng.beta(8, 2, n), 0.35, 0.99),
        responsiveness=rng.lognormal(0.0, 0.55, n),
        capacity=rng.lognormal(0.0, 0.35, n),
        store_guides=[np.array(g, dtype=np.int64) for g in store_guides],
    )
    for i in leavers:
        s = org.staff_store[i]
        stable = [g for g in store_guides[s] if org.stable[g]]
        replacement[i] = stable[int(rng.integers(0, len(stable)))]
    org.replacement = replacement
    return org
