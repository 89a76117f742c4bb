"""One request's URLs are signed with one read of the signing material (a list answers up to
100 tasks of 5 URLs each), and the next request reads it afresh: a rotated key or credential is
used from the next request on, never mixed into one answer."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.scenarios import fetch, run_to_end, submit_ok


@pytest.fixture
def credential_reads(monkeypatch) -> list[int]:
    """One entry per read of the credentials the image URLs are signed with."""
    import mjproxy.images as images

    reads: list[int] = []
    real = images.aws_credentials
    monkeypatch.setattr(images, "aws_credentials", lambda: reads.append(1) or real())
    return reads


def _access_keys(task: dict) -> set[str]:
    urls = [task["imageUrl"], *(u["url"] for u in task.get("imageUrls") or [])]
    return {parse_qs(urlsplit(u).query)["X-Amz-Credential"][0].split("/")[0] for u in urls if u}


def test_a_list_reads_the_credentials_once_and_the_next_request_reads_them_again(
    system, monkeypatch, credential_reads
):
    ids = [submit_ok(system, "/mj/submit/imagine", {"prompt": f"fox {i}"}) for i in range(3)]
    for task_id in ids:
        assert run_to_end(system, task_id)["status"] == "SUCCESS"
    credential_reads.clear()  # the runs' own fetches

    listed = system.post("/mj/task/list-by-condition", {"ids": ids}).json()
    assert sorted(t["id"] for t in listed) == sorted(ids)
    assert len(credential_reads) == 1  # 3 tasks x (grid + 4 quadrants) signed with one read
    assert set().union(*map(_access_keys, listed)) == {os.environ["AWS_ACCESS_KEY_ID"]}

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAROTATEDKEY000001")
    after = fetch(system, ids[0])
    assert _access_keys(after) == {"AKIAROTATEDKEY000001"} and len(credential_reads) == 2


def test_outside_a_request_every_url_reads_the_credentials(system, credential_reads):
    # A callback or the worker signs outside any API request: nothing is kept between URLs.
    import mjproxy.images as images

    images.presign("tasks/1/grid.png")
    images.presign("tasks/1/1.png")
    assert len(credential_reads) == 2
