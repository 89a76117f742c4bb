"""Stable image links: imageUrl that never expires, redirecting to a fresh presigned URL."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.scenarios import submit_ok

HOST = {"Host": "api.example.test"}


@pytest.fixture
def stable(system, monkeypatch):
    monkeypatch.setenv("MJ_IMAGE_URL_MODE", "stable")
    monkeypatch.setenv("MJ_IMAGE_URL_SECRET", "k3y")
    monkeypatch.setenv("MJ_API_SECRET", "s3cret")
    from mjproxy import config

    config.reset()
    return system


def finished(system) -> dict:
    auth = {"mj-api-secret": "s3cret", **HOST}
    task_id = submit_ok_auth(system, auth)
    system.drain()
    return system.get(f"/mj/task/{task_id}/fetch", headers=auth).json()


def submit_ok_auth(system, headers) -> str:
    r = system.post("/mj/submit/imagine", {"prompt": "a fox"}, headers=headers)
    assert r.json()["code"] == 1
    return r.json()["result"]


def test_image_url_is_a_stable_signed_link_that_redirects(stable):
    task = finished(stable)
    url = task["imageUrl"]
    assert url.startswith(f"http://api.example.test/mj/image/{task['id']}/grid.png?sig=")
    assert all(u["url"].startswith("http://api.example.test/mj/image/") for u in task["imageUrls"])
    parts = urlsplit(url)
    # Relays fetch it without the API secret.
    r = stable.get(f"{parts.path}?{parts.query}")
    assert r.status == 302
    location = r.headers["Location"]
    assert "X-Amz-Signature=" in location and f"tasks/{task['id']}/grid.png" in location


def test_a_link_with_a_wrong_signature_or_file_is_404(stable):
    task = finished(stable)
    assert stable.get(f"/mj/image/{task['id']}/grid.png?sig=00").status == 404
    assert stable.get(f"/mj/image/{task['id']}/grid.png").status == 404
    assert stable.get(f"/mj/image/{task['id']}/..%2Fsecret.png?sig=00").status == 404


def test_presigned_mode_presigns(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    system.drain()
    task = system.get(f"/mj/task/{task_id}/fetch", headers=HOST).json()
    assert "X-Amz-Signature=" in task["imageUrl"]


def test_a_rotated_signing_key_keeps_the_links_signed_before_the_rotation(system, monkeypatch):
    """On AWS the key is a Secrets Manager secret (template ImageLinkSecret): after a rotation
    new links use the new key and links already handed out still redirect."""
    import boto3

    from mjproxy import config

    sm = boto3.client("secretsmanager", region_name="us-east-1")
    arn = sm.create_secret(Name="mjproxy-image-link-key", SecretString="old-key")["ARN"]
    monkeypatch.setenv("MJ_IMAGE_URL_MODE", "stable")
    monkeypatch.delenv("MJ_IMAGE_URL_SECRET", raising=False)
    monkeypatch.setenv("MJ_IMAGE_URL_SECRET_ARN", arn)
    config.reset()
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    system.drain()
    old = system.get(f"/mj/task/{task_id}/fetch", headers=HOST).json()["imageUrl"]

    sm.put_secret_value(SecretId=arn, SecretString="new-key")  # old-key becomes AWSPREVIOUS
    config.reset()
    new = system.get(f"/mj/task/{task_id}/fetch", headers=HOST).json()["imageUrl"]
    assert new != old
    for url in (old, new):
        parts = urlsplit(url)
        assert system.get(f"{parts.path}?{parts.query}").status == 302, url
    forged = urlsplit(old)._replace(query="sig=" + "0" * 32)
    assert system.get(f"{forged.path}?{forged.query}").status == 404
