"""FakeServer: the fake app under uvicorn on 127.0.0.1 (a free port) in a background thread."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from fake_wecom.app import CorpHolder, create_fake_app
from fake_wecom.corp import FakeCorp


class FakeServer:
    """start() → base_url "http://127.0.0.1:PORT/cgi-bin"; reset() swaps in a fresh corp; stop()."""

    def __init__(self, corp: FakeCorp | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_fake_app(corp)
        self._holder: CorpHolder = self.app.state.holder
        self.host = host
        self.port = port
        self._scope = 0  # bumped by reset(): base_url gets a fresh /tN prefix
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def corp(self) -> FakeCorp:
        """The corp currently served."""
        return self._holder.corp

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:PORT (the /fake/... endpoints live here)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL to give WecomClient (/tN/cgi-bin after the Nth reset, else /cgi-bin)."""
        return f"{self.root_url}/t{self._scope}/cgi-bin" if self._scope else f"{self.root_url}/cgi-bin"

    def reset(self, corp: FakeCorp | None = None) -> FakeCorp:
        """Serve a fresh corp (or the given one) from now on, under a new base_url scope."""
        self._scope += 1
        self._holder.corp = corp or FakeCorp()
        return self._holder.corp

    def start(self, timeout: float = 10.0) -> FakeServer:
        """Bind, serve in a daemon thread and wait until uvicorn accepts connections."""
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only for that proto, and
        # without it every keep-alive response stalls ~40 ms on Nagle + delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="fake-wecom"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"fake WeCom server did not start on {self.root_url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
