"""`mjproxy-gateway`: one Discord gateway connection per enabled midjourney account, forwarding
events to DISCORD_EVENTS_QUEUE_URL (docs/midjourney.md, "The gateway listener").

Environment: the same account configuration as the functions (MJ_INSTANCES, MJ_INSTANCES_FILE or
MJ_INSTANCES_SECRET_ARN; INSTANCES_TABLE_NAME to skip disabled accounts), DISCORD_EVENTS_QUEUE_URL,
and MJ_DISCORD_GATEWAY_URL (default Discord's; the simulator's for local runs)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from typing import Any

from .listener import GatewayConnection, Options
from .protocol import GATEWAY_URL, Forwarder, Sink, SqsSink

log = logging.getLogger("mjgateway")


def accounts() -> list[Any]:
    """The enabled midjourney accounts (disabled ones skipped when the instances table is set)."""
    from mjproxy.config import settings

    instances = [i for i in settings().instances if i.provider == "midjourney" and i.enable]
    if os.environ.get("INSTANCES_TABLE_NAME"):
        from mjproxy.store.instances import InstancePool

        try:
            enabled = {i.id for i in InstancePool().enabled()}
            instances = [i for i in instances if i.id in enabled]
        except Exception:
            log.exception("could not read the instances table; connecting every account")
    return instances


def build(sink: Sink, opts: Options, ttl_seconds: int = 60) -> list[GatewayConnection]:
    from mjproxy.providers.midjourney.account import Account, DiscordSettings

    out = []
    for inst in accounts():
        acct = Account.from_instance(inst, DiscordSettings.from_env())
        fwd = Forwarder(acct.id, acct.channel_id, sink, ttl_seconds)
        out.append(GatewayConnection(acct.id, acct.user_token, acct.user_agent, fwd, opts))
    return out


async def serve(conns: list[GatewayConnection]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, lambda: [c.stop() for c in conns])
        except (NotImplementedError, RuntimeError):
            pass
    await asyncio.gather(*(c.run() for c in conns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mjproxy-gateway", description=__doc__)
    parser.add_argument("--url", default=os.environ.get("MJ_DISCORD_GATEWAY_URL", GATEWAY_URL))
    parser.add_argument("--queue-url", default=os.environ.get("DISCORD_EVENTS_QUEUE_URL", ""))
    parser.add_argument("--status-seconds", type=float, default=20.0)
    parser.add_argument("--ttl-seconds", type=int, default=60)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("botocore", "boto3", "urllib3", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not args.queue_url and os.environ.get("AWS_ENDPOINT_URL"):
        # Local mode (`make run`): the queue the embedded system created in its moto server.
        import boto3

        args.queue_url = boto3.client("sqs").get_queue_url(QueueName="mjproxy-DiscordEventsQueue")[
            "QueueUrl"
        ]
    if not args.queue_url:
        parser.error("DISCORD_EVENTS_QUEUE_URL (or --queue-url) is required")
    conns = build(SqsSink(args.queue_url), Options(args.url, status_seconds=args.status_seconds),
                  args.ttl_seconds)  # fmt: skip
    if not conns:
        log.error("no enabled midjourney account")
        return 1
    log.info("listening for %d account(s) at %s", len(conns), args.url)
    asyncio.run(serve(conns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
