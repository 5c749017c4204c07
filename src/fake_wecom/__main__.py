"""python -m fake_wecom --port 8700 --staff 20 --customers 2000: a seeded fake WeCom for the demo."""

from __future__ import annotations

import argparse
import random
import threading

import uvicorn

from fake_wecom.app import create_fake_app
from fake_wecom.corp import FakeCorp
from fake_wecom.simulate import GIVEN, SURNAMES


def auto_scan(corp: FakeCorp, interval: float, stop: threading.Event, seed: int = 1) -> None:
    """Every interval seconds a new customer scans a random contact way (live adds for demo visitors)."""
    rng = random.Random(seed)
    while not stop.wait(interval):
        with corp.lock:
            ways = [w.config_id for w in corp.contact_ways.values() if w.user]
        if not ways:
            continue
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        try:
            corp.simulate_scan(rng.choice(ways), name=name)
        except KeyError:  # the way was deleted meanwhile
            continue


def main(argv: list[str] | None = None) -> None:
    """Parse options, seed the corp and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m fake_wecom", description="A fake WeCom server (loopback only)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--corp-id", default="wwfakecorp")
    parser.add_argument("--secret", default="fake-secret")
    parser.add_argument("--staff", type=int, default=20)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--callback-url", default="", help="Siyu's callback URL, e.g. http://127.0.0.1:8000/wecom/callback"
    )
    parser.add_argument("--callback-token", default="")
    parser.add_argument("--callback-aes-key", default="", help="the 43-character EncodingAESKey")
    parser.add_argument(
        "--auto-scan", type=float, default=0.0, help="seconds between simulated scans (0 = off)"
    )
    parser.add_argument(
        "--userids-file", default="", help="one WeCom userid per line (e.g. the demo's staff)"
    )
    args = parser.parse_args(argv)
    corp = FakeCorp(args.corp_id, args.secret)
    userids: list[str] = []
    if args.userids_file:
        with open(args.userids_file, encoding="utf-8") as fh:
            userids = [line.strip() for line in fh if line.strip()]
    corp.seed(
        staff=args.staff,
        customers=args.customers,
        groups=args.groups,
        seed=args.seed,
        contact_ways=True,
        userids=userids,
    )
    if args.callback_url:
        corp.configure_callback(args.callback_url, args.callback_token, args.callback_aes_key)
    stop = threading.Event()
    if args.auto_scan > 0:
        threading.Thread(target=auto_scan, args=(corp, args.auto_scan, stop, args.seed), daemon=True).start()
    print(f"fake WeCom: corp {args.corp_id}, API base http://{args.host}:{args.port}/cgi-bin", flush=True)
    try:
        uvicorn.run(create_fake_app(corp), host=args.host, port=args.port, log_level="warning")
    finally:
        stop.set()


if __name__ == "__main__":
    main()
