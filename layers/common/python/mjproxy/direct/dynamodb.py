"""DynamoDB item calls without botocore: the AWS JSON 1.0 request its client makes for them
(X-Amz-Target DynamoDB_20120810.<Operation>, the parameters as given: the low-level client's
parameters are the wire's own), signed by mjproxy.sigv4, the answer read by json.loads.

Why (issue 17): every API function reads or writes a task, and creating botocore's DynamoDB
client meant importing boto3 (~240 ms) and loading the service model and endpoint rules
(~60-100 ms): most of what a cold start spent beyond a lean handler's
(bench/results/1_cold_start.md).

`Client` stands where aws.client("dynamodb") gave botocore's client: the same method names,
parameters and answers, and `exceptions.<Code>` classes that are botocore ClientErrors, raised
for the errors DynamoDB gives the same way on every attempt (a failed condition, a cancelled
transaction, a bad request, a missing table). Everything else goes to botocore's client, made
on first need, with its retries: a refusal (throttling, 5xx, an expired signature), an
unreachable endpoint, an answer whose CRC32 does not match, parameters JSON cannot carry (bytes,
sets), any other method. Its errors are raised as this client's classes, so `except
db.exceptions.ConditionalCheckFailedException` catches both. A write whose answer was lost is
then sent again, as botocore's own retry sends it. MJ_DYNAMODB_DIRECT=off turns it off.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import zlib
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from .. import direct

log = logging.getLogger(__name__)

SWITCH = "MJ_DYNAMODB_DIRECT"
_TARGET = "DynamoDB_20120810."
OPERATIONS = {
    "get_item": "GetItem",
    "batch_get_item": "BatchGetItem",
    "query": "Query",
    "scan": "Scan",
    "transact_get_items": "TransactGetItems",
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "delete_item": "DeleteItem",
    "batch_write_item": "BatchWriteItem",
    "transact_write_items": "TransactWriteItems",
}
_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
# Answered the same on every attempt, so botocore does not retry them either.
FINAL_ERRORS = frozenset(
    {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
        "ValidationException",
        "ResourceNotFoundException",
        "ItemCollectionSizeLimitExceededException",
    }
)
_BINARY_MARKERS = (b'"B":', b'"BS":', b'"B" :', b'"BS" :')


def enabled() -> bool:
    return direct.enabled(SWITCH)


class Exceptions:
    """`client.exceptions`: one ClientError subclass per error code, named after it."""

    def __init__(self) -> None:
        self._classes: dict[str, type[ClientError]] = {}

    def from_code(self, code: str) -> type[ClientError]:
        found = self._classes.get(code)
        if found is None:
            found = self._classes[code] = type(code or "ClientError", (ClientError,), {})
        return found

    def raised_here(self, exc: ClientError) -> bool:
        return type(exc) in self._classes.values()

    def __getattr__(self, name: str) -> type[ClientError]:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.from_code(name)


class Client:
    """A DynamoDB client for the item operations; botocore's (`fallback()`) for the rest."""

    def __init__(self, region: str, fallback: Callable[[], Any]) -> None:
        self._region = region
        self._fallback = fallback
        self.exceptions = Exceptions()

    def __getattr__(self, name: str) -> Any:
        operation = OPERATIONS.get(name)
        if operation is None:
            return getattr(self._fallback(), name)

        def call(**params: Any) -> dict[str, Any]:
            return self._call(name, operation, params)

        call.__name__ = name
        return call

    def _call(self, name: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = self._direct(operation, params)
        if answer is not None:
            return answer
        try:
            return getattr(self._fallback(), name)(**params)
        except ClientError as exc:
            if self.exceptions.raised_here(exc):
                raise
            code = str(exc.response.get("Error", {}).get("Code", ""))
            raise self.exceptions.from_code(code)(exc.response, operation) from exc

    def _direct(self, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The answer, or None when botocore must make the call. Raises the final errors."""
        sent = False
        try:
            request = self._request(operation, params)
            if request is None:
                return None
            prepared, payload = request
            sent = True
            status, data, reply = direct.post(prepared, payload)
            return self._answer(operation, status, data, reply)
        except ClientError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            log.warning(
                "direct DynamoDB call failed; calling through botocore",
                extra={"operation": operation, "error": repr(exc)},
            )
            return None
        except Exception:
            # A bug here must cost an attempt, never the call; but a write already sent is
            # not sent twice on account of one.
            if sent and operation not in _READS:
                raise
            log.exception("direct DynamoDB call raised; calling through botocore")
            return None

    def _request(
        self, operation: str, params: dict[str, Any]
    ) -> tuple[direct.Prepared, bytes] | None:
        try:
            payload = json.dumps(params, separators=(",", ":")).encode()
        except (TypeError, ValueError):
            return None  # bytes, sets, Decimals: botocore's serializer knows them
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": _TARGET + operation,
        }
        prepared = direct.prepare("dynamodb", self._region, headers, payload)
        return None if prepared is None else (prepared, payload)

    def _answer(
        self, operation: str, status: int, data: bytes, reply: http.client.HTTPMessage
    ) -> dict[str, Any] | None:
        crc = reply.get("x-amz-crc32")
        if crc is not None and crc != str(zlib.crc32(data)):
            log.warning("direct DynamoDB answer fails its CRC32; calling through botocore")
            return None
        try:
            body = json.loads(data) if data else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            log.warning("direct DynamoDB answer is not JSON; calling through botocore")
            return None
        if any(marker in data for marker in _BINARY_MARKERS):
            body = _decode_binary(body)
        metadata = {
            "RequestId": reply.get("x-amzn-RequestId", ""),
            "HTTPStatusCode": status,
            "HTTPHeaders": {k.lower(): v for k, v in reply.items()},
            "RetryAttempts": 0,
        }
        if status == 200:
            body["ResponseMetadata"] = metadata
            return body
        code = direct.error_code(body, status)
        if 400 <= status < 500 and code in FINAL_ERRORS:
            error = {
                "Error": {"Message": direct.error_message(body), "Code": code},
                "ResponseMetadata": metadata,
            }
            # The error's own members (a failed condition's Item, a cancelled transaction's
            # CancellationReasons), as botocore's parser adds them.
            error.update(
                {k: v for k, v in body.items() if k not in ("__type", "message", "Message")}
            )
            raise self.exceptions.from_code(code)(error, operation)
        log.warning(
            "direct DynamoDB call refused; calling through botocore",
            extra={"operation": operation, "status": status, "code": code},
        )
        return None


def _decode_binary(value: Any) -> Any:
    """Binary AttributeValues (base64 on the wire) as bytes, as botocore's parser gives them. Only
    an AttributeValue is a one-member object whose "B" is a string or "BS" a list of them."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == "B" and isinstance(inner, str):
                return {"B": base64.b64decode(inner)}
            if key == "BS" and isinstance(inner, list) and all(isinstance(v, str) for v in inner):
                return {"BS": [base64.b64decode(v) for v in inner]}
        return {k: _decode_binary(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_binary(v) for v in value]
    return value
