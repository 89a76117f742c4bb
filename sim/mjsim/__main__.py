"""`python -m mjsim --port 8765`: the simulator as a server on 127.0.0.1, printing the
environment that points mjproxy's local mode at it."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import time

from .core import Simulator
from .server import SimServer, Ticker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mjsim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default="sim-user-token", help="the user token it accepts")
    parser.add_argument("--step-seconds", type=float, default=1.0, help="per progress step")
    parser.add_argument("--start-delay", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=3, help="Midjourney jobs at once")
    parser.add_argument(
        "--format", choices=("current", "2024"), default="current",
        help="Midjourney's message forms: today's (default) or the 2024 ones",
    )  # fmt: skip
    parser.add_argument(
        "--ephemeral-errors",
        action="store_true",
        help="error embeds only visible on the gateway, as Midjourney often does",
    )
    parser.add_argument(
        "--gateway-port", type=int, default=8766,
        help="the websocket gateway (for mjproxy-gateway); 0: none",
    )  # fmt: skip
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    base = f"http://{args.host}:{args.port}"
    sim = Simulator(
        base, start_delay=args.start_delay, step_seconds=args.step_seconds,
        concurrency=args.concurrency, ephemeral_errors=args.ephemeral_errors,
        message_format=args.format,
    )  # fmt: skip
    acct = sim.add_account(args.token)
    server = SimServer(sim, args.host, args.port).start()
    gateway = None
    if args.gateway_port:
        from .gateway import GatewayServer

        gateway = GatewayServer(sim, args.host, args.gateway_port).start()
    ticker = Ticker(sim).start()
    instances = json.dumps([sim.instance_config(acct)], separators=(",", ":"))
    env = {
        "MJ_PROVIDER": "midjourney",
        "MJ_INSTANCES": instances,
        "MJ_DISCORD_API_BASE": f"{base}/api/v9",
        "MJ_DISCORD_CDN_HOSTS": f"{args.host}:{args.port}",
    }
    print(f"mjsim: Discord + Midjourney simulator at {base}", flush=True)
    print("  point mjproxy's local mode at it with:", flush=True)
    for k, v in env.items():
        print(f"  export {k}={shlex.quote(v)}", flush=True)
    if gateway is not None:
        print(f"  gateway at {gateway.url}; for the listener (mjproxy-gateway) also:", flush=True)
        print(f"  export MJ_DISCORD_GATEWAY_URL={gateway.url}", flush=True)
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        ticker.stop()
        if gateway is not None:
            gateway.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
