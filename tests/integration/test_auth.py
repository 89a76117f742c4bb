"""The API secret (protocol.md §5.11, clients.md §C.2): `mj-api-secret` under any header-name
case, `Authorization: <secret>` or `Authorization: Bearer <secret>`; anything else is HTTP 401
with an empty body; no secret configured = no auth. The secret may come from the environment,
an SSM SecureString or Secrets Manager."""

from __future__ import annotations

import boto3
import pytest

from mjproxy.api import auth

SECRET = "s3cret-Value"
IMAGINE = ("POST", "/mj/submit/imagine", {"prompt": "a fox"})
FETCH = ("GET", "/mj/task/1717401234567123/fetch", None)


def use_secret(monkeypatch, **env: str) -> None:
    for name in ("MJ_API_SECRET", "MJ_API_SECRET_PARAM", "MJ_API_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    auth.api_secret.cache_clear()


def call(system, endpoint, headers=None):
    method, path, body = endpoint
    return system.request(method, path, body, headers=headers or {})


def assert_401(r) -> None:
    assert r.status == 401
    assert r.text == ""


@pytest.fixture
def secured(system, monkeypatch):
    use_secret(monkeypatch, MJ_API_SECRET=SECRET)
    return system


@pytest.mark.parametrize(
    "headers",
    [
        {"mj-api-secret": SECRET},
        {"MJ-API-SECRET": SECRET},
        {"Mj-Api-Secret": SECRET},
        {"Authorization": SECRET},
        {"authorization": f"Bearer {SECRET}"},
        {"Authorization": f"bearer {SECRET}"},
        # A wrong value in one place does not hide the right one in the other.
        {"mj-api-secret": "wrong", "Authorization": f"Bearer {SECRET}"},
    ],
)
@pytest.mark.parametrize("endpoint", [IMAGINE, FETCH])
def test_the_secret_is_accepted_in_every_documented_form(secured, endpoint, headers):
    assert call(secured, endpoint, headers).status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"mj-api-secret": "wrong"},
        {"mj-api-secret": SECRET.lower()},  # exact, case-sensitive value
        {"mj-api-secret": f" {SECRET}"},  # no trimming
        {"Authorization": f"Bearer {SECRET}x"},
        {"Authorization": f"Basic {SECRET}"},
        {"mj-api-secret": ""},
        {"X-Api-Key": SECRET},
    ],
)
@pytest.mark.parametrize("endpoint", [IMAGINE, FETCH])
def test_a_missing_or_wrong_secret_is_401_with_an_empty_body(secured, endpoint, headers):
    assert_401(call(secured, endpoint, headers))


def test_a_rejected_submit_creates_nothing(secured):
    from mjproxy.store.tasks import TaskRepository

    assert_401(call(secured, IMAGINE))
    assert TaskRepository().list_recent(limit=5)[0] == []


def test_the_prefixed_routes_are_protected_too(secured):
    assert_401(secured.post("/mj-fast/mj/submit/imagine", {"prompt": "a fox"}))
    r = secured.post(
        "/mj-fast/mj/submit/imagine", {"prompt": "a fox"}, headers={"mj-api-secret": SECRET}
    )
    assert r.status == 200 and r.json()["code"] == 1


def test_without_a_secret_auth_is_off(system, monkeypatch):
    use_secret(monkeypatch)
    assert call(system, IMAGINE).status == 200
    assert call(system, IMAGINE, {"mj-api-secret": "anything"}).status == 200
    assert call(system, FETCH).status == 200


def test_the_secret_from_an_ssm_securestring(system, monkeypatch):
    boto3.client("ssm").put_parameter(Name="/mjproxy/api-secret", Value=SECRET, Type="SecureString")
    # The template passes the name without its leading slash.
    use_secret(monkeypatch, MJ_API_SECRET_PARAM="mjproxy/api-secret")
    assert_401(call(system, IMAGINE))
    assert call(system, IMAGINE, {"mj-api-secret": SECRET}).status == 200


def test_the_secret_from_secrets_manager(system, monkeypatch):
    arn = boto3.client("secretsmanager").create_secret(Name="mj-api", SecretString=SECRET)["ARN"]
    use_secret(monkeypatch, MJ_API_SECRET_ARN=arn)
    assert_401(call(system, FETCH, {"Authorization": "Bearer nope"}))
    assert call(system, FETCH, {"Authorization": f"Bearer {SECRET}"}).status == 200


def test_the_environment_wins_over_ssm(system, monkeypatch):
    boto3.client("ssm").put_parameter(Name="/mj/other", Value="from-ssm", Type="SecureString")
    use_secret(monkeypatch, MJ_API_SECRET=SECRET, MJ_API_SECRET_PARAM="/mj/other")
    assert call(system, IMAGINE, {"mj-api-secret": SECRET}).status == 200
    assert_401(call(system, IMAGINE, {"mj-api-secret": "from-ssm"}))


def test_the_comparison_is_constant_time(monkeypatch):
    """Every presented value goes through hmac.compare_digest (no early-exit ==)."""
    import hmac

    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    use_secret(monkeypatch, MJ_API_SECRET=SECRET)

    class Req:
        headers = {"mj-api-secret": "wrong", "authorization": f"Bearer {SECRET}"}

    auth.check(Req())
    assert calls == [(b"wrong", SECRET.encode()), (SECRET.encode(), SECRET.encode())]


# ---- the source-address allow-list (ApiAllowedSourceCidrs; the REST API's resource policy) ---
def allow_sources(monkeypatch, cidrs: str) -> None:
    from mjproxy.api import sources

    monkeypatch.setenv("MJ_ALLOWED_SOURCE_CIDRS", cidrs)
    sources.allowed_networks.cache_clear()


@pytest.mark.parametrize("endpoint", [IMAGINE, FETCH])
def test_an_address_outside_the_list_is_403_before_anything_runs(system, monkeypatch, endpoint):
    from mjproxy.store.tasks import TaskRepository

    allow_sources(monkeypatch, "203.0.113.0/24, 2001:db8::/32")
    r = call(system, endpoint, {"X-Forwarded-For": "198.51.100.7"})
    assert r.status == 403 and r.json()["error"] == "Forbidden"
    assert r.json()["path"] == endpoint[1]
    assert TaskRepository().list_recent(limit=5)[0] == []  # the imagine created nothing
    assert call(system, endpoint, {"X-Forwarded-For": "203.0.113.9"}).status == 200
    assert call(system, endpoint, {"X-Forwarded-For": "2001:db8::5"}).status == 200
    # No address, or no list entry of its family, is refused too.
    assert call(system, endpoint, {"X-Forwarded-For": "not-an-ip"}).status == 403
    allow_sources(monkeypatch, "203.0.113.0/24")
    assert call(system, endpoint, {"X-Forwarded-For": "2001:db8::5"}).status == 403


def test_the_list_comes_before_the_secret_and_the_template_default_admits_everyone(
    system, monkeypatch
):
    use_secret(monkeypatch, MJ_API_SECRET=SECRET)
    allow_sources(monkeypatch, "10.0.0.0/8")
    r = call(system, IMAGINE, {"X-Forwarded-For": "192.0.2.1", "mj-api-secret": SECRET})
    assert r.status == 403
    allow_sources(monkeypatch, "0.0.0.0/0,::/0")  # ApiAllowedSourceCidrs' default
    r = call(system, IMAGINE, {"X-Forwarded-For": "192.0.2.1", "mj-api-secret": SECRET})
    assert r.status == 200
    assert_401(call(system, IMAGINE, {"X-Forwarded-For": "2001:db8::1"}))
