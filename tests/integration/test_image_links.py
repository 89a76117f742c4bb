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


# ---- quadrants stored on their first read (issue 17: 4 of a grid's 5 PUTs saved) -----------
def _keys(task_id: str) -> set[str]:
    import boto3

    from mjproxy.config import settings

    listed = boto3.client("s3").list_objects_v2(
        Bucket=settings().bucket_name, Prefix=f"tasks/{task_id}/"
    )
    return {o["Key"].rsplit("/", 1)[1] for o in listed.get("Contents", [])}


def _open_link(system, url: str):
    parts = urlsplit(url)
    r = system.get(f"{parts.path}?{parts.query}")
    assert r.status == 302, r.status
    return r.headers["Location"]


def test_with_stable_links_a_grid_stores_its_quadrants_only_when_one_is_opened(stable):
    from tests.scenarios import image_of

    task = finished(stable)
    assert "grid.png" in _keys(task["id"])
    assert not {"1.png", "2.png", "3.png", "4.png"} & _keys(task["id"])
    urls = [u["url"] for u in task["imageUrls"]]
    assert [urlsplit(u).path.rsplit("/", 1)[1] for u in urls] == [f"{i}.png" for i in range(1, 5)]
    location = _open_link(stable, urls[2])
    # One opened: all four cropped from one decode of the grid and stored.
    assert {"1.png", "2.png", "3.png", "4.png"} <= _keys(task["id"])
    grid = image_of(_open_link(stable, task["imageUrl"]))
    third = image_of(location)
    assert third.size == (grid.width // 2, grid.height // 2)
    assert third.convert("RGB").getpixel((5, 5)) == grid.convert("RGB").getpixel(
        (5, grid.height // 2 + 5)
    )
    # Opening it again finds it stored; the links stay the same.
    assert _open_link(stable, urls[2]).split("?")[0] == location.split("?")[0]
    again = finished_again(stable, task["id"])
    assert [u["url"] for u in again["imageUrls"]] == urls


def finished_again(system, task_id: str) -> dict:
    return system.get(
        f"/mj/task/{task_id}/fetch", headers={"mj-api-secret": "s3cret", **HOST}
    ).json()


def test_an_upscale_of_a_grid_whose_quadrants_were_never_opened_crops_the_grid(stable):
    from tests.scenarios import image_of

    auth = {"mj-api-secret": "s3cret", **HOST}
    task = finished(stable)
    r = stable.post(
        "/mj/submit/change", {"taskId": task["id"], "action": "UPSCALE", "index": 4}, headers=auth
    )
    assert r.json()["code"] == 1, r.json()
    stable.drain()
    up = stable.get(f"/mj/task/{r.json()['result']}/fetch", headers=auth).json()
    assert up["status"] == "SUCCESS", up
    assert image_of(_open_link(stable, up["imageUrl"])).width > 0
    # The worker's read of the parent's quadrant stored nothing: no client opened it.
    assert not {"1.png", "2.png", "3.png", "4.png"} & _keys(task["id"])


def test_without_a_base_url_the_quadrants_are_stored_before_they_are_named(stable):
    """A callback has no request to take a base URL from (and PublicBaseUrl is empty): the
    URLs it names are presigned, so the quadrants must exist by then."""
    from mjproxy import images
    from mjproxy.api.tasks import task_view
    from mjproxy.store.tasks import TaskRepository

    task = finished(stable)
    view = task_view(TaskRepository().get(task["id"]))  # outside any request
    assert all("X-Amz-Signature=" in u["url"] for u in view["imageUrls"])
    assert {"1.png", "2.png", "3.png", "4.png"} <= _keys(task["id"])
    assert images.quadrant(f"tasks/{task['id']}/1.png").startswith(b"\x89PNG")


def test_presigned_mode_stores_the_quadrants_at_finish(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    system.drain()
    task = system.get(f"/mj/task/{task_id}/fetch", headers=HOST).json()
    assert {"grid.png", "1.png", "2.png", "3.png", "4.png"} <= _keys(task_id)
    assert all("X-Amz-Signature=" in u["url"] for u in task["imageUrls"])


def test_a_quadrant_link_of_a_grid_that_is_gone_is_404(stable):
    import boto3

    from mjproxy.config import settings

    task = finished(stable)
    boto3.client("s3").delete_object(
        Bucket=settings().bucket_name, Key=f"tasks/{task['id']}/grid.png"
    )
    parts = urlsplit(task["imageUrls"][0]["url"])
    assert stable.get(f"{parts.path}?{parts.query}").status == 404
