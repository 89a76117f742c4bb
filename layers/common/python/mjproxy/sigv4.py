"""SigV4 without botocore: presigned S3 URLs (GET, and PUT for mjproxy.images.direct) byte-identical
to botocore's, and header-signed requests (mjproxy.direct) signed as botocore's SigV4Auth signs.

Why: every read presigns five image URLs per finished task. botocore's `generate_presigned_url`
builds a request object, runs its event hooks and endpoint rules and derives the SigV4 signing key
(four HMACs) on every call, ~0.17 ms each; the fetch function also had to create an S3 client
(service model + endpoint rules from JSON) on its cold start just to sign. Here the URL prefix is
computed once per bucket and the signing key once per (secret, day, region), so a URL costs two
HMACs and a SHA-256. Only the common shapes take this path (a DNS-compatible bucket in the `aws`
partition, or a local endpoint such as moto, path-style); anything else (dotted bucket names,
FIPS/dual-stack/accelerate endpoints, other partitions) returns None and the caller uses botocore.
tests/unit/test_sigv4.py checks equality with botocore for every shape taken here, and the
Authorization header of `sign_headers` against botocore's SigV4Auth.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote, urlsplit

_ALGORITHM = "AWS4-HMAC-SHA256"
# Regions of the standard `aws` partition (not cn-*, us-gov-*, us-iso*): s3.<region>.amazonaws.com.
_AWS_REGION = re.compile(r"^(?:us|eu|ap|ca|sa|me|af|il|mx)-(?!gov|iso)[a-z]+-\d{1,2}$")
# Buckets botocore addresses virtual-hosted (no dots, lower case, 3-63 characters).
_VIRTUAL_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# Settings that make botocore pick another endpoint than the plain regional one.
_ENDPOINT_ENV = (
    "AWS_ENDPOINT_URL_S3",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_S3_USE_ARN_REGION",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


class Credentials(NamedTuple):
    access_key: str
    secret_key: str
    token: str | None = None


class _Target(NamedTuple):
    scheme: str
    netloc: str  # as in the URL (botocore keeps an explicit default port there)
    host: str  # as signed: no default port
    path_prefix: str  # "" (virtual-hosted) or "/<bucket>" (path-style)


def _target(bucket: str, region: str, endpoint_url: str | None) -> _Target | None:
    """Where botocore (signature s3v4; addressing virtual on AWS, path on a local endpoint, as
    mjproxy.aws configures it) sends a GET for `bucket`, or None if this module does not know."""
    s3_endpoint = os.environ.get("AWS_ENDPOINT_URL_S3")
    for name in _ENDPOINT_ENV:
        # AWS_ENDPOINT_URL_S3 is fine when it is the endpoint asked for (the local mode serves
        # S3 on its API port): botocore then signs for exactly that endpoint, path-style.
        asked_for = name == "AWS_ENDPOINT_URL_S3" and s3_endpoint == endpoint_url
        if os.environ.get(name) and not asked_for:
            return None
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in _DEFAULT_PORTS or parts.path not in ("", "/") or parts.query:
            return None
        if not parts.hostname or parts.username or parts.password or not bucket:
            return None
        host = parts.netloc
        if parts.port is not None and str(parts.port) == _DEFAULT_PORTS[parts.scheme]:
            host = parts.hostname
        return _Target(parts.scheme, parts.netloc, host, "/" + quote(bucket, safe="/~"))
    if not standard_region(region) or not _VIRTUAL_BUCKET.match(bucket) or "--" in bucket:
        return None
    # botocore keeps the legacy global endpoint for us-east-1.
    domain = "s3.amazonaws.com" if region == "us-east-1" else f"s3.{region}.amazonaws.com"
    return _Target("https", f"{bucket}.{domain}", f"{bucket}.{domain}", "")


def standard_region(region: str) -> bool:
    """A region of the standard `aws` partition (the endpoints here are <service>.<region>.amazonaws.com)."""
    return bool(_AWS_REGION.match(region))


@lru_cache(maxsize=16)
def _signing_key(secret_key: str, datestamp: str, region: str, service: str = "s3") -> bytes:
    """SigV4's derived key: valid for one day, one region, one service; four HMACs to make."""
    key = hmac.digest(f"AWS4{secret_key}".encode(), datestamp.encode(), "sha256")
    for part in (region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


# botocore names a service's endpoint variable after its service id ("Secrets Manager").
_ENDPOINT_NAMES = {"secretsmanager": "SECRETS_MANAGER"}


def endpoint_url(service: str = "s3") -> str | None:
    """The endpoint botocore's clients of `service` are configured with: AWS_ENDPOINT_URL_<SERVICE>
    before AWS_ENDPOINT_URL (None: the regional one)."""
    name = _ENDPOINT_NAMES.get(service, service.upper())
    return (
        os.environ.get(f"AWS_ENDPOINT_URL_{name}")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


class Presigner:
    """Presigned URLs for one bucket: GET (image links), PUT (mjproxy.images.direct). `now` is
    injectable for tests."""

    def __init__(self, bucket: str, region: str, endpoint_url: str | None = None) -> None:
        self.bucket = bucket
        self.region = region
        self.target = _target(bucket, region, endpoint_url)

    @property
    def supported(self) -> bool:
        return self.target is not None

    def url(
        self,
        key: str,
        expires: int,
        credentials: Credentials,
        now: datetime | None = None,
        method: str = "GET",
    ) -> str:
        target = self.target
        if target is None:
            raise ValueError("this bucket/endpoint needs botocore's presigner")
        moment = now or datetime.now(UTC)
        amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
        datestamp = amz_date[:8]
        cred, token = _encoded_auth(
            credentials.access_key, credentials.token, datestamp, self.region
        )
        path = f"{target.path_prefix}/{quote(key, safe='/~')}"
        head = f"X-Amz-Algorithm={_ALGORITHM}&X-Amz-Credential={cred}&X-Amz-Date={amz_date}"
        head += f"&X-Amz-Expires={expires}"
        # The canonical query sorts the names (Security-Token before SignedHeaders); the URL
        # keeps botocore's order (SignedHeaders, then Security-Token).
        canonical_query = f"{head}{token}&X-Amz-SignedHeaders=host"
        canonical_request = (
            f"{method}\n{path}\n{canonical_query}\nhost:{target.host}\n\nhost\nUNSIGNED-PAYLOAD"
        )
        string_to_sign = (
            f"{_ALGORITHM}\n{amz_date}\n{datestamp}/{self.region}/s3/aws4_request\n"
            f"{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        )
        signing_key = _signing_key(credentials.secret_key, datestamp, self.region)
        signature = hmac.digest(signing_key, string_to_sign.encode(), "sha256").hex()
        query = f"{head}&X-Amz-SignedHeaders=host{token}"
        return f"{target.scheme}://{target.netloc}{path}?{query}&X-Amz-Signature={signature}"


@lru_cache(maxsize=16)
def _encoded_auth(access_key: str, token: str | None, datestamp: str, region: str) -> tuple:
    """The URL-encoded X-Amz-Credential value and `&X-Amz-Security-Token=…` ("" without a
    session token): the same for every URL of a day."""
    cred = quote(f"{access_key}/{datestamp}/{region}/s3/aws4_request", safe="-_.~")
    return cred, ("" if token is None else f"&X-Amz-Security-Token={quote(token, safe='-_.~')}")


def sign_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    payload: bytes,
    service: str,
    region: str,
    credentials: Credentials,
    now: datetime | None = None,
) -> dict[str, str]:
    """`headers` plus X-Amz-Date, X-Amz-Security-Token (temporary credentials) and Authorization:
    the request signed in its headers, every header given and the host signed, the payload's
    SHA-256 in the signature (as botocore's SigV4Auth does for services other than S3). Only a
    URL without a query string."""
    parts = urlsplit(url)
    if parts.query or parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("sign_headers signs a plain http(s) URL without a query")
    host = parts.hostname
    if parts.port is not None and str(parts.port) != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{parts.port}"
    amz_date = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    datestamp = amz_date[:8]
    out = dict(headers)
    out["X-Amz-Date"] = amz_date
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    canonical = {name.lower(): " ".join(str(value).split()) for name, value in out.items()}
    canonical["host"] = host
    names = sorted(canonical)
    signed = ";".join(names)
    canonical_request = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/~"),
            "",
            "".join(f"{name}:{canonical[name]}\n" for name in names),
            signed,
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{datestamp}/{region}/{service}/aws4_request"
    string_to_sign = (
        f"{_ALGORITHM}\n{amz_date}\n{scope}\n"
        f"{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    )
    key = _signing_key(credentials.secret_key, datestamp, region, service)
    signature = hmac.digest(key, string_to_sign.encode(), "sha256").hex()
    out["Authorization"] = (
        f"{_ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return out
