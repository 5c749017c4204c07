"""FakeTransport: a sync httpx transport answering /cgi-bin/... from a FakeCorp in-process (no sockets)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from fake_wecom.corp import FakeCorp

PREFIX = "/cgi-bin/"


class FakeTransport(httpx.BaseTransport):
    """Pass as WecomClient(transport=FakeTransport(corp)) with any base_url ending in /cgi-bin."""

    def __init__(self, corp: FakeCorp) -> None:
        self.corp = corp

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Route the request to corp.handle, like the HTTP app does."""
        path = request.url.path
        if PREFIX not in path:
            return httpx.Response(404, text=f"fake WeCom: {path} is not under {PREFIX}")
        api = path.split(PREFIX, 1)[1]
        args: dict[str, Any] = dict(request.url.params)
        raw = request.read()
        if raw:
            try:
                payload = json.loads(raw)
            except ValueError:
                return httpx.Response(200, json={"errcode": 40058, "errmsg": "Warning: wrong json format."})
            if isinstance(payload, dict):
                args.update(payload)
        return httpx.Response(200, json=self.corp.handle(api, args))
