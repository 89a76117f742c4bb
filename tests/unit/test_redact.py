"""failReason and callback errors never show account ids, ARNs or Python reprs (issue 15)."""

from __future__ import annotations

from mjproxy.redact import scrub
from mjproxy.worker import worker_failure_reason


def test_an_access_denied_message_loses_its_arns_and_account_id():
    message = (
        "An error occurred (AccessDeniedException) when calling the InvokeModel operation: "
        "User: arn:aws:sts::123456789012:assumed-role/mjproxy-WorkerFunctionRole-AB12/mjproxy-"
        "WorkerFunction is not authorized to perform: bedrock:InvokeModel on resource: "
        "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0"
    )
    out = scrub(message)
    assert "123456789012" not in out and "arn:" not in out
    assert "AccessDeniedException" in out and "bedrock:InvokeModel" in out
    assert out.count("<arn>") == 2


def test_queue_urls_and_bare_account_ids_are_masked():
    out = scrub("send failed: https://sqs.us-east-1.amazonaws.com/123456789012/mjproxy-Jobs")
    assert "123456789012" not in out and "<account>" in out


def test_object_reprs_and_addresses_are_masked():
    out = scrub("cannot use <botocore.client.S3 object at 0x7f3a2b1c9d90> or 0x7f3a2b1c9d90")
    assert out == "cannot use <object> or <object>"


def test_task_ids_and_ordinary_text_are_kept():
    text = "任务超时 1733091234567001: HTTP 503, 4 attempts"
    assert scrub(text) == text
    assert scrub(None) is None and scrub("") == ""


def test_the_worker_reason_for_a_boto_error_is_clean_once_written():
    exc = RuntimeError("User: arn:aws:iam::123456789012:role/x is not authorized")
    assert "123456789012" not in scrub(worker_failure_reason(exc, 5))
