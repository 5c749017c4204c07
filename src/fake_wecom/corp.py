"""FakeCorp: the fake WeCom corp's state, tokens, limits, fault injection, call log and API dispatch."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx

from fake_wecom import api_contacts, api_messaging  # noqa: F401  (registers the handlers)
from fake_wecom import simulate as sim
from fake_wecom.callbacks import CallbackConfig, SentCallback, post_callback, verify_url_request
from fake_wecom.models import (
    CallRecord,
    FakeContact,
    FakeContactWay,
    FakeFollow,
    FakeGroupChat,
    FakeMomentJob,
    FakeMsgTemplate,
    FakeStaff,
    FakeTag,
    FakeTagGroup,
    FakeTransfer,
    FakeWelcomeCode,
)
from fake_wecom.registry import HANDLERS, FakeError

OFFICIAL_RATE_LIMIT_PER_MINUTE = 10_000  # per corp per API (DOC/90454)
OFFICIAL_RATE_LIMIT_PER_HOUR = 150_000


class FakeCorp:
    """One fake corp. Thread-safe: the uvicorn thread serves the API while tests simulate client actions."""

    def __init__(
        self, corp_id: str = "wwfakecorp", secret: str = "fake-secret", token_ttl: int = 7200
    ) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.token_ttl = token_ttl
        self.agent_id = "1000002"
        self.lock = threading.RLock()
        self.clock: Callable[[], float] = time.time
        self.offset = 0.0
        # limits and knobs
        self.rate_limit_per_minute = OFFICIAL_RATE_LIMIT_PER_MINUTE
        self.rate_limit_per_hour = OFFICIAL_RATE_LIMIT_PER_HOUR
        self.welcome_window_seconds = 20
        self.transfer_delay_seconds = 24 * 3600
        self.follow_page_size = 500  # externalcontact/get pages follow_user beyond this
        self.groupchat_list_requires_owner_above = (
            1000  # staff count above which owner_filter is mandatory (81017)
        )
        self.latency = 0.0  # seconds each API call takes (outside the lock, so concurrent calls overlap)
        self.max_concurrent_per_api: int | None = None  # above this many in-flight calls of one API → 45033
        self.moment_polls_before_done = 0  # get_moment_task_result answers "running" this many times first
        self.receive_rule = "month_days"  # 群发 receive limit per customer/group: month_days | week_7 | day_1
        self.monthly_cap: Callable[[int, int], int] = _days_in_month  # (year, month) → cap under month_days
        # state
        self.staff: dict[str, FakeStaff] = {}
        self.contacts: dict[str, FakeContact] = {}
        self.follows_by_user: dict[str, dict[str, FakeFollow]] = defaultdict(dict)
        self.follows_by_ext: dict[str, dict[str, FakeFollow]] = defaultdict(dict)
        self.tag_groups: dict[str, FakeTagGroup] = {}
        self.tags: dict[str, FakeTag] = {}
        self.contact_ways: dict[str, FakeContactWay] = {}
        self.welcome_codes: dict[str, FakeWelcomeCode] = {}
        self.welcomes_sent: list[dict[str, Any]] = []
        self.groups: dict[str, FakeGroupChat] = {}
        self.templates: dict[str, FakeMsgTemplate] = {}
        # (target, year, month) — or (target, "week"|"day", n) under the other rules → mass sends received
        self.receipts: Counter[tuple[str, int | str, int]] = Counter()
        self.moment_jobs: dict[str, FakeMomentJob] = {}
        self.moments: dict[str, FakeMomentJob] = {}
        self.transfers: list[FakeTransfer] = []
        self.behavior_overrides: dict[tuple[str, int], dict[str, Any]] = {}
        self.seed_value = 0
        # tokens, limits, faults, log
        self.tokens: dict[str, float] = {}
        self.faults: dict[str, list[int]] = defaultdict(list)
        self.calls: list[CallRecord] = []
        self._minute_counts: Counter[tuple[str, int]] = Counter()
        self._hour_counts: Counter[tuple[str, int]] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._flight_lock = threading.Lock()
        self._serial = 0
        # callbacks
        self.callback: CallbackConfig | None = None
        self.events: list[dict[str, Any]] = []
        self.callbacks_sent: list[SentCallback] = []
        self.callback_transport: Any = None  # an httpx transport for in-process delivery (tests)

    # -- clock -------------------------------------------------------------------------------------
    def now(self) -> float:
        """The fake's clock (real time plus advance() offsets)."""
        return self.clock() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (token expiry, welcome window, transfer completion)."""
        with self.lock:
            self.offset += seconds

    def next_id(self, prefix: str) -> str:
        """A fresh identifier with prefix."""
        with self.lock:
            self._serial += 1
            return f"{prefix}{self._serial:06d}{secrets.token_hex(3)}"

    # -- dispatch ----------------------------------------------------------------------------------
    def handle(self, api: str, args: dict[str, Any]) -> dict[str, Any]:
        """Answer one API call: concurrency, faults, rate limit, token check, then the handler; every call is logged."""
        with self._flight_lock:
            self._in_flight[api] += 1
            crowded = (
                self.max_concurrent_per_api is not None and self._in_flight[api] > self.max_concurrent_per_api
            )
        try:
            if self.latency:
                time.sleep(self.latency)
            with self.lock:
                now = self.now()
                token = args.pop("access_token", None)
                try:
                    if crowded:
                        raise FakeError(
                            45033, f"more than {self.max_concurrent_per_api} concurrent {api} calls"
                        )
                    result = self._dispatch(api, token, args, now)
                except FakeError as exc:
                    result = {"errcode": exc.errcode, "errmsg": exc.errmsg}
                self.calls.append(CallRecord(api, now, int(result["errcode"])))
                return result
        finally:
            with self._flight_lock:
                self._in_flight[api] -= 1

    def _dispatch(self, api: str, token: Any, args: dict[str, Any], now: float) -> dict[str, Any]:
        minute = int(now // 60)
        self._minute_counts[(api, minute)] += 1
        if self._minute_counts[(api, minute)] > self.rate_limit_per_minute:
            raise FakeError(45009, f"{api} over {self.rate_limit_per_minute} calls/minute")
        hour = int(now // 3600)
        self._hour_counts[(api, hour)] += 1
        if self._hour_counts[(api, hour)] > self.rate_limit_per_hour:
            raise FakeError(45009, f"{api} over {self.rate_limit_per_hour} calls/hour")
        queued = self.faults.get(api)
        if queued:
            raise FakeError(queued.pop(0), f"injected fault on {api}")
        handler = HANDLERS.get(api)
        if handler is None:
            raise FakeError(40058, f"the fake does not implement /cgi-bin/{api}")
        if api != "gettoken":
            self._check_token(token, now)
        result = handler(self, args, now)
        return {"errcode": 0, "errmsg": "ok", **result}

    def _check_token(self, token: Any, now: float) -> None:
        if not token:
            raise FakeError(41001)
        expires = self.tokens.get(str(token))
        if expires is None:
            raise FakeError(40014)
        if expires <= now:
            raise FakeError(42001)

    def issue_token(self, now: float) -> tuple[str, int]:
        """A new access token valid token_ttl seconds (earlier tokens stay valid until they expire)."""
        token = secrets.token_urlsafe(48)
        self.tokens[token] = now + self.token_ttl
        return token, self.token_ttl

    def revoke_tokens(self) -> None:
        """WeCom may invalidate tokens early: every issued token now answers 40014."""
        with self.lock:
            self.tokens.clear()

    def expire_tokens(self) -> None:
        """Every issued token now answers 42001."""
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = 0.0

    def fail_next(self, api: str, errcode: int, times: int = 1) -> None:
        """Answer the next `times` calls of api (path after /cgi-bin/) with errcode."""
        with self.lock:
            self.faults[api].extend([errcode] * times)

    # -- call log ----------------------------------------------------------------------------------
    def call_counts(self) -> Counter[str]:
        """Calls per API."""
        with self.lock:
            return Counter(c.api for c in self.calls)

    def max_calls_per_minute(self, api: str | None = None) -> int:
        """The busiest calendar minute of one API (or of any API), for "stays under the limit" checks."""
        with self.lock:
            per = Counter((c.api, int(c.at // 60)) for c in self.calls if api is None or c.api == api)
            return max(per.values(), default=0)

    def reset_calls(self) -> None:
        """Forget the call log (not the rate-limit window)."""
        with self.lock:
            self.calls.clear()

    # -- state helpers -----------------------------------------------------------------------------
    def add_staff(self, userid: str, name: str | None = None, **flags: bool) -> FakeStaff:
        """Add a member (contact_feature/visible/resigned/console_welcome flags)."""
        with self.lock:
            member = FakeStaff(userid, name or userid, **flags)
            self.staff[userid] = member
            return member

    def add_contact(self, name: str, external_userid: str | None = None, **fields: Any) -> FakeContact:
        """Add an external contact (no follow yet)."""
        with self.lock:
            contact = FakeContact(external_userid or self.next_id("wm"), name, **fields)
            self.contacts[contact.external_userid] = contact
            return contact

    def add_follow(
        self, userid: str, external_userid: str, createtime: int | None = None, **fields: Any
    ) -> FakeFollow:
        """Add (or replace) the follow relation userid → external_userid."""
        with self.lock:
            if userid not in self.staff:
                raise KeyError(f"fake corp: no staff {userid!r}")
            if external_userid not in self.contacts:
                raise KeyError(f"fake corp: no external contact {external_userid!r}")
            follow = FakeFollow(
                userid, external_userid, int(self.now()) if createtime is None else createtime, **fields
            )
            self.follows_by_user[userid][external_userid] = follow
            self.follows_by_ext[external_userid][userid] = follow
            return follow

    def remove_follow(self, userid: str, external_userid: str) -> FakeFollow | None:
        """Drop a follow relation; returns it when it existed."""
        with self.lock:
            follow = self.follows_by_user.get(userid, {}).pop(external_userid, None)
            self.follows_by_ext.get(external_userid, {}).pop(userid, None)
            return follow

    def follow(self, userid: str, external_userid: str) -> FakeFollow | None:
        """The follow relation, or None."""
        return self.follows_by_user.get(userid, {}).get(external_userid)

    def add_tag_group(self, group_name: str, tag_names: Sequence[str], order: int = 0) -> FakeTagGroup:
        """Add a corp tag group with tags (as if created in the admin console)."""
        with self.lock:
            now = int(self.now())
            group = FakeTagGroup(self.next_id("et"), group_name, now, order)
            self.tag_groups[group.group_id] = group
            for i, name in enumerate(tag_names):
                tag = FakeTag(self.next_id("et"), name, group.group_id, now, i)
                self.tags[tag.id] = tag
                group.tag_ids.append(tag.id)
            return group

    def tag_names(self) -> dict[str, tuple[str, str]]:
        """tag id → (group name, tag name)."""
        return {t.id: (self.tag_groups[t.group_id].group_name, t.name) for t in self.tags.values()}

    def require_staff(self, userid: str, *, visible: bool = True) -> FakeStaff:
        """The member or 40003; outside the app's visible range → 60011."""
        member = self.staff.get(userid)
        if member is None:
            raise FakeError(40003, f"userid {userid!r}")
        if visible and not member.visible:
            raise FakeError(60011, f"userid {userid!r} is outside the app's visible range")
        return member

    def require_contact(self, external_userid: str) -> FakeContact:
        """The external contact or 40096."""
        contact = self.contacts.get(external_userid)
        if contact is None:
            raise FakeError(40096, f"external_userid {external_userid!r}")
        return contact

    def seed(
        self,
        staff: int = 50,
        customers: int = 10_000,
        groups: int = 0,
        seed: int = 1,
        contact_ways: bool = False,
        userids: Sequence[str] = (),
    ) -> None:
        """Deterministic staff (userids or staff0001…), tags, customers with 1–3 follows, groups, contact ways."""
        sim.seed_corp(
            self,
            staff=staff,
            customers=customers,
            groups=groups,
            seed=seed,
            contact_ways=contact_ways,
            userids=userids,
        )

    # -- callbacks ---------------------------------------------------------------------------------
    def configure_callback(self, url: str, token: str, encoding_aes_key: str) -> None:
        """Where simulated client actions POST their signed, encrypted events."""
        with self.lock:
            self.callback = CallbackConfig(url, token, encoding_aes_key, self.agent_id)

    def emit(self, fields: dict[str, Any]) -> SentCallback | None:
        """Record an event and, when a callback URL is configured, deliver it (outside the lock)."""
        event = {
            "ToUserName": self.corp_id,
            "FromUserName": "sys",
            "CreateTime": int(self.now()),
            "MsgType": "event",
            **fields,
        }
        with self.lock:
            self.events.append(event)
        return self.deliver(event)

    def deliver(self, event: dict[str, Any]) -> SentCallback | None:
        """POST one event to the configured callback URL (None when none is configured)."""
        with self.lock:
            config = self.callback
        if config is None:
            return None
        sent = post_callback(
            config, self.corp_id, event, timestamp=int(self.now()), transport=self.callback_transport
        )
        with self.lock:
            self.callbacks_sent.append(sent)
        return sent

    def redeliver(self, index: int = -1) -> SentCallback | None:
        """Send events[index] again, unchanged (WeCom retries when it gets no answer within 5 s)."""
        return self.deliver(self.events[index])

    def verify_callback_url(self, echo: str = "fake-echo") -> tuple[bool, int | None, str]:
        """The GET WeCom sends when the admin saves the callback URL: (reply == echo, status, reply)."""
        with self.lock:
            config = self.callback
        if config is None:
            raise ValueError("fake corp: configure_callback first")
        params = verify_url_request(config, self.corp_id, echo, int(self.now()))
        try:
            with httpx.Client(timeout=10.0, transport=self.callback_transport) as client:
                response = client.get(config.url, params=params)
        except httpx.HTTPError as exc:
            return False, None, f"{type(exc).__name__}: {exc}"
        return response.status_code == 200 and response.text == echo, response.status_code, response.text

    # -- simulated client-side actions (these emit callbacks; API calls never do) ------------------
    def simulate_scan(
        self,
        config_id_or_state: str,
        userid: str | None = None,
        name: str = "扫码客户",
        external_userid: str | None = None,
    ) -> str:
        """A customer scans a contact way: contact + follow with the way's state, a WelcomeCode, the callback."""
        return sim.scan(self, config_id_or_state, userid=userid, name=name, external_userid=external_userid)

    def simulate_add(self, userid: str, name: str = "新客户", *, state: str = "", add_way: int = 1) -> str:
        """A customer adds a member without a contact way (search, card…); callback like a scan."""
        return sim.add(self, userid, name=name, state=state, add_way=add_way)

    def simulate_customer_deletes_staff(self, userid: str, external_userid: str) -> None:
        """The customer deletes the member → del_follow_user."""
        sim.customer_deletes_staff(self, userid, external_userid)

    def simulate_staff_deletes_customer(self, userid: str, external_userid: str) -> None:
        """The member deletes the customer → del_external_contact."""
        sim.staff_deletes_customer(self, userid, external_userid)

    def simulate_edit_contact(self, userid: str, external_userid: str, **changes: Any) -> None:
        """The member edits remark/description/remark_mobiles/tags (add_tags, remove_tags) → edit_external_contact."""
        sim.edit_contact(self, userid, external_userid, **changes)

    def simulate_create_group(
        self, owner: str, name: str, external_userids: Iterable[str] = (), members: Iterable[str] = ()
    ) -> str:
        """The member creates a customer group → change_external_chat create."""
        return sim.create_group(self, owner, name, list(external_userids), list(members))

    def simulate_join_group(
        self, chat_id: str, member_id: str, join_scene: int = 3, invitor: str = ""
    ) -> None:
        """An external contact (or member) joins → change_external_chat update add_member."""
        sim.join_group(self, chat_id, member_id, join_scene=join_scene, invitor=invitor)

    def simulate_leave_group(self, chat_id: str, member_id: str, quit_scene: int = 0) -> None:
        """Someone leaves (quit_scene 0) or is removed (1) → change_external_chat update del_member."""
        sim.leave_group(self, chat_id, member_id, quit_scene=quit_scene)

    def simulate_dismiss_group(self, chat_id: str) -> None:
        """The owner dismisses the group → change_external_chat dismiss."""
        sim.dismiss_group(self, chat_id)

    def simulate_tag_change(self, change_type: str, **kwargs: Any) -> str:
        """Tags edited in the admin console (create/update/delete) → change_external_tag; returns the id."""
        return sim.tag_change(self, change_type, **kwargs)

    def simulate_transfer_fail(self, external_userid: str, reason: str = "customer_refused") -> None:
        """The customer refuses (or the takeover member is full) → transfer status 3/4 + transfer_fail."""
        sim.transfer_fail(self, external_userid, reason)

    def simulate_confirm_groupmsg(self, msgid: str, userid: str) -> dict[int, int]:
        """The member confirms a mass send in the client: per-recipient results (1 sent, 2 not friend, 3 capped)."""
        return sim.confirm_groupmsg(self, msgid, userid)

    def simulate_publish_moment(self, jobid_or_moment_id: str, userid: str) -> None:
        """The member publishes the moment in the client (publish_status 1)."""
        sim.publish_moment(self, jobid_or_moment_id, userid)

    def resign(self, userid: str) -> None:
        """The member leaves: flagged resigned, their groups become 离职待继承 (status 1)."""
        with self.lock:
            self.require_staff(userid, visible=False).resigned = True
            for group in self.groups.values():
                if group.owner == userid:
                    group.status = 1

    def complete_transfers(self) -> int:
        """Finish waiting transfers whose 24 h have passed (also done lazily by transfer_result)."""
        with self.lock:
            return sim.complete_transfers(self, self.now())


def _days_in_month(year: int, month: int) -> int:
    import calendar

    return calendar.monthrange(year, month)[1]


__all__ = [
    "FakeContactWay",
    "FakeCorp",
    "FakeError",
    "FakeGroupChat",
    "FakeMomentJob",
    "FakeMsgTemplate",
    "FakeTransfer",
]
