"""DynamoDB item calls handed to the in-process moto without botocore's HTTP round trip.

boto3 calls in the local mode still go through botocore exactly as on AWS: parameter
validation, serialization, endpoint rules and the `before-call`/`after-call` events. What a
`before-call` hook skips for the item operations is only the part that stands for the network:
building and signing an HTTP request, moto's URL routing, and botocore's model-driven response
walk (json.loads then one call per nested AttributeValue: ~2 ms for a task item, ~190 ms for a
100-item BatchGetItem). The request goes to moto's own handler through the emulator (its lock
and write journal included); the JSON answer is read by mjproxy.store.answers (json.loads when
it holds no binary value, botocore's parser otherwise and for every error answer), as mjproxy's
DynamoDB client reads it on AWS.
tests/integration/test_local_direct.py checks both paths give equal results and errors.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.endpoint import convert_to_response_dict
from botocore.parsers import JSONParser

from ..store.answers import ITEM_OPERATIONS, ItemAnswerParser

EVENT = "before-call.dynamodb"  # registered last: other before-call handlers run first


@cache
def _parser() -> ItemAnswerParser:
    return ItemAnswerParser()


def _error(response: dict[str, Any], model: Any) -> dict[str, Any]:
    """An error answer as botocore's endpoint parses it: the error, then its modeled fields
    (e.g. a cancelled transaction's CancellationReasons)."""
    parser = JSONParser()
    parsed = parser.parse(response, model.output_shape)
    shape = model.service_model.shape_for_error_code(parsed.get("Error", {}).get("Code"))
    if shape is not None:
        parsed.update(parser.parse(response, shape))
    return parsed


class _Raw:
    """The raw stream AWSResponse reads its content from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def make_hook(process_request: Any) -> Any:
    """A `before-call.dynamodb` handler answering item operations through `process_request`
    (the stubbed moto entry point, given an AWSPreparedRequest)."""

    def before_call(model: Any, params: dict[str, Any], **_: Any) -> Any:
        if model.name not in ITEM_OPERATIONS or not params.get("url"):
            return None
        body = params.get("body") or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = dict(params.get("headers") or {})
        request = AWSPreparedRequest(
            method=params.get("method", "POST"),
            url=params["url"],
            headers=headers,
            body=body,
            stream_output=False,
        )
        answer = process_request(request)
        if answer is None:
            return None  # not moto's: the usual HTTP path
        status, out_headers, out_body = answer
        if isinstance(out_body, str):
            out_body = out_body.encode("utf-8")
        http = AWSResponse(params["url"], status, out_headers, _Raw(out_body))
        response = convert_to_response_dict(http, model)
        if status < 300:
            parsed = _parser().parse(response, model.output_shape)
        else:
            parsed = _error(response, model)
        parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = 0
        return http, parsed

    return before_call
