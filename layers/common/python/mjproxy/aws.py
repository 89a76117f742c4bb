"""boto3 clients, created lazily on first use so tests and the local runner can point them
anywhere (`AWS_ENDPOINT_URL`), and cached per process for warm invocations."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from .config import on_reset, settings


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: creating a client parses botocore's service model
    and endpoint rules (~1 MB of JSON) into objects that all survive, so the collections their
    allocation triggers find nothing and cost ~20 ms of a cold start
    (bench/results/1_cold_start.md). Restores the collector only if it was on."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@cache
def client(service: str) -> Any:
    """The client for `service`. DynamoDB's, inside a Lambda runtime, is mjproxy.direct.dynamodb's
    (no boto3 import or client creation unless a call needs botocore)."""
    if service == "dynamodb":
        from .direct import dynamodb

        if dynamodb.enabled():
            return dynamodb.Client(settings().region, lambda: botocore_client("dynamodb"))
    return botocore_client(service)


@cache
def botocore_client(service: str) -> Any:
    with gc_paused():
        import boto3
        from botocore.config import Config

        extra: dict[str, Any] = {}
        if service == "s3":
            # SigV4 presigned URLs (boto3 defaults to SigV2 query auth for S3). Path-style only
            # against a local endpoint (moto), where bucket host names do not resolve.
            local = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            style = "path" if local else "virtual"
            extra["config"] = Config(signature_version="s3v4", s3={"addressing_style": style})
        made = boto3.client(service, region_name=settings().region, **extra)
        if service == "dynamodb":
            from .store.answers import use_item_answer_parser

            use_item_answer_parser(made)
        return made


# botocore's chain reads these before the environment's keys, or makes env keys refreshable.
_CHAIN_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CREDENTIAL_EXPIRATION")


def credentials() -> Any:
    """The credentials botocore's clients use, as mjproxy.sigv4.Credentials (None without any):
    the default session's chain, resolved once per session and refreshed by botocore when
    temporary. For the requests signed without a client (mjproxy.sigv4, mjproxy.direct).

    The environment's keys (what Lambda's runtime sets: botocore's chain takes them first) are
    read here without importing boto3, which alone costs ~240 ms of a cold start."""
    from .sigv4 import Credentials

    env = os.environ
    if (
        env.get("AWS_ACCESS_KEY_ID")
        and env.get("AWS_SECRET_ACCESS_KEY")
        and not any(env.get(name) for name in _CHAIN_ENV)
    ):
        token = env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None
        return Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], token)
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    found = boto3.DEFAULT_SESSION.get_credentials()
    if found is None:
        return None
    frozen = found.get_frozen_credentials()
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


@on_reset
def reset() -> None:
    client.cache_clear()
    botocore_client.cache_clear()
