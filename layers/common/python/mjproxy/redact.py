"""Scrubs AWS account ids, ARNs and Python object reprs out of text that clients see
(failReason, callback errors): an error message must not map the operator's account."""

from __future__ import annotations

import re

_ARN = re.compile(r"\barn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12})?:[^\s'\",;)\]}]+")
# A 12-digit number standing alone (account ids in messages, queue URLs, role names).
_ACCOUNT = re.compile(r"(?<![\d.])\d{12}(?![\d.])")
# <botocore.client.S3 object at 0x7f...>, <function f at 0x...>, <Foo(...)> reprs.
_REPR = re.compile(r"<[A-Za-z_][\w.]*(?: [^<>]{0,200})? (?:object )?at 0x[0-9a-fA-F]+>")
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")


def scrub(text: str | None) -> str | None:
    """`text` with every ARN as `<arn>`, account id as `<account>` and object repr or memory
    address as `<object>`. Ids of tasks (13+ digits) and other numbers are kept."""
    if not text:
        return text
    text = _ARN.sub("<arn>", text)
    text = _REPR.sub("<object>", text)
    text = _ADDRESS.sub("<object>", text)
    return _ACCOUNT.sub("<account>", text)
