"""create_fake_app: the fake WeCom HTTP API (/cgi-bin/...) plus /fake/... endpoints that drive simulations."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from fake_wecom.corp import FakeCorp
from fake_wecom.ui import page_html


class CorpHolder:
    """The corp the app serves; tests swap it between cases without restarting the server."""

    def __init__(self, corp: FakeCorp) -> None:
        self.corp = corp


def create_fake_app(corp: FakeCorp | None = None) -> FastAPI:
    """The ASGI app; usable in-process (httpx ASGITransport / TestClient) or under uvicorn."""
    app = FastAPI(title="fake WeCom", docs_url=None, redoc_url=None, openapi_url=None)
    holder = CorpHolder(corp or FakeCorp())
    app.state.holder = holder

    # Handlers run in the threadpool: a callback the fake delivers may call back into this API meanwhile.
    # /<scope>/cgi-bin/... serves the same corp: FakeServer.reset() hands out a new scope so that clients
    # sharing a process-wide token cache (keyed by base URL) never reuse a previous test's token.
    @app.api_route("/cgi-bin/{api:path}", methods=["GET", "POST"])
    @app.api_route("/{scope}/cgi-bin/{api:path}", methods=["GET", "POST"])
    async def cgi(api: str, request: Request) -> JSONResponse:
        args: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        if raw:
            try:
                payload = json.loads(raw)
            except ValueError:
                return JSONResponse({"errcode": 40058, "errmsg": "Warning: wrong json format."})
            if isinstance(payload, dict):
                args.update(payload)
        return JSONResponse(await run_in_threadpool(holder.corp.handle, api, args))

    @app.get("/fake/", response_class=HTMLResponse)
    def fake_page() -> HTMLResponse:
        return HTMLResponse(page_html(holder.corp))

    @app.post("/fake/ui/scan", response_class=HTMLResponse)
    async def fake_page_scan(request: Request) -> HTMLResponse:
        form = await request.form()
        config_id, name = str(form.get("config_id", "")), str(form.get("name", "")).strip() or "演示客户"
        try:
            ext = await run_in_threadpool(holder.corp.simulate_scan, config_id, None, name)
        except KeyError as exc:
            return HTMLResponse(page_html(holder.corp, f"扫码失败：{exc}"), status_code=409)
        return HTMLResponse(page_html(holder.corp, f"{name} ({ext}) 已添加"))

    @app.post("/fake/{action}")
    async def fake_action(action: str, request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            params: dict[str, Any] = json.loads(raw) if raw else {}
        except ValueError:
            raise HTTPException(422, f"/fake/{action} expects a JSON object body") from None
        if not isinstance(params, dict):
            raise HTTPException(422, f"/fake/{action} expects a JSON object body")
        return JSONResponse(await run_in_threadpool(_simulate, holder.corp, action, params))

    @app.get("/fake/state")
    def fake_state() -> JSONResponse:
        corp = holder.corp
        with corp.lock:
            return JSONResponse(
                {
                    "corp_id": corp.corp_id,
                    "staff": len(corp.staff),
                    "contacts": len(corp.contacts),
                    "follows": sum(len(f) for f in corp.follows_by_user.values()),
                    "contact_ways": [
                        {"config_id": w.config_id, "state": w.state, "user": w.user, "scans": w.scans}
                        for w in corp.contact_ways.values()
                    ],
                    "groups": len(corp.groups),
                    "calls": dict(corp.call_counts()),
                    "welcomes_sent": corp.welcomes_sent[-20:],
                    "callbacks_sent": [
                        {"event": c.event, "status": c.status_code, "error": c.error}
                        for c in corp.callbacks_sent[-20:]
                    ],
                }
            )

    return app


SIMULATIONS = {
    "scan": ("simulate_scan", ("config_id_or_state",), ("userid", "name", "external_userid")),
    "add": ("simulate_add", ("userid",), ("name", "state", "add_way")),
    "customer_deletes_staff": ("simulate_customer_deletes_staff", ("userid", "external_userid"), ()),
    "staff_deletes_customer": ("simulate_staff_deletes_customer", ("userid", "external_userid"), ()),
    "create_group": ("simulate_create_group", ("owner", "name"), ("external_userids", "members")),
    "join_group": ("simulate_join_group", ("chat_id", "member_id"), ("join_scene", "invitor")),
    "leave_group": ("simulate_leave_group", ("chat_id", "member_id"), ("quit_scene",)),
    "dismiss_group": ("simulate_dismiss_group", ("chat_id",), ()),
    "transfer_fail": ("simulate_transfer_fail", ("external_userid",), ("reason",)),
    "confirm_groupmsg": ("simulate_confirm_groupmsg", ("msgid", "userid"), ()),
    "publish_moment": ("simulate_publish_moment", ("jobid_or_moment_id", "userid"), ()),
    "advance": ("advance", ("seconds",), ()),
    "configure_callback": ("configure_callback", ("url", "token", "encoding_aes_key"), ()),
    "verify_callback_url": ("verify_callback_url", (), ("echo",)),
    "redeliver": ("redeliver", (), ("index",)),
    "fail_next": ("fail_next", ("api", "errcode"), ("times",)),
}


def _simulate(corp: FakeCorp, action: str, params: dict[str, Any]) -> dict[str, Any]:
    if action == "edit_contact":
        corp.simulate_edit_contact(params.pop("userid"), params.pop("external_userid"), **params)
        return {"ok": True}
    if action == "tag_change":
        return {"ok": True, "result": corp.simulate_tag_change(params.pop("change_type"), **params)}
    spec = SIMULATIONS.get(action)
    if spec is None:
        raise HTTPException(
            404,
            f"unknown fake action {action!r}; known: {sorted([*SIMULATIONS, 'edit_contact', 'tag_change'])}",
        )
    method, required, optional = spec
    missing = [k for k in required if k not in params]
    if missing:
        raise HTTPException(422, f"/fake/{action} needs {missing}")
    kwargs = {k: params[k] for k in (*required, *optional) if k in params}
    try:
        result = getattr(corp, method)(**kwargs)
    except (KeyError, ValueError, IndexError) as exc:
        raise HTTPException(409, f"/fake/{action}: {exc}") from exc
    if is_dataclass(result) and not isinstance(result, type):
        result = asdict(result)
    return {"ok": True, "result": result}


__all__ = ["FakeCorp", "create_fake_app"]
