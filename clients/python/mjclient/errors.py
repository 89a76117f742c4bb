"""One exception per protocol outcome (protocol.md §2.1), so callers catch what they can handle."""

from __future__ import annotations

from typing import Any


class MjError(Exception):
    """Base of everything this client raises."""


class TransportError(MjError):
    """The server could not be reached (connection refused, DNS, timeout) after all retries."""


class HttpError(MjError):
    """An HTTP status the protocol does not use for business errors (400, 404, 5xx after retries)."""

    def __init__(self, status: int, body: str, path: str) -> None:
        super().__init__(f"HTTP {status} from {path}: {body[:200]}")
        self.status = status
        self.body = body
        self.path = path


class AuthError(HttpError):
    """HTTP 401 with an empty body: the mj-api-secret is missing or wrong (protocol.md §5.11)."""


class ApiError(MjError):
    """A submit answer whose `code` is not an acceptance (1, 22, or 21 for a modal)."""

    code: int = 0

    def __init__(
        self,
        code: int,
        description: str,
        result: Any = None,
        properties: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"code {code}: {description}")
        self.code = code
        self.description = description
        self.result = result
        self.properties = properties or {}


class NotFoundError(ApiError):
    """Code 3: parent task missing/expired, or no available instance."""

    code = 3


class ValidationError(ApiError):
    """Code 4: the request failed validation (the description names the field)."""

    code = 4


class SubmitFailedError(ApiError):
    """Code 9: the server failed while enqueueing."""

    code = 9


class ExistingTaskError(ApiError):
    """Code 21 outside a modal: the same upscale already exists (`result` is its id)."""

    code = 21


class QueueFullError(ApiError):
    """Code 23: the instance's queue is full; nothing was created. Try again later."""

    code = 23


class BannedPromptError(ApiError):
    """Code 24: the prompt matched a banned word (`properties.bannedWord`)."""

    code = 24


_BY_CODE: dict[int, type[ApiError]] = {
    cls.code: cls
    for cls in (
        NotFoundError,
        ValidationError,
        SubmitFailedError,
        ExistingTaskError,
        QueueFullError,
        BannedPromptError,
    )
}


def api_error(
    code: int, description: str, result: Any, properties: dict[str, Any] | None
) -> ApiError:
    return _BY_CODE.get(code, ApiError)(code, description, result, properties)


class TaskFailed(MjError):
    """The task ended FAILURE or CANCEL; `task` holds its last state and `failReason`."""

    def __init__(self, task: Any) -> None:
        super().__init__(f"task {task.id} ended {task.status}: {task.fail_reason or ''}".rstrip())
        self.task = task


class WaitTimeout(MjError):
    """The task did not finish within the wait's timeout; `task` is the last state seen."""

    def __init__(self, task_id: str, task: Any) -> None:
        status = task.status if task else "unknown"
        super().__init__(f"task {task_id} still {status} when the wait timed out")
        self.task_id = task_id
        self.task = task


class ButtonNotFound(MjError):
    """No button with that label on the task; `available` lists the labels it has."""

    def __init__(self, label: str, available: list[str]) -> None:
        super().__init__(f"no button {label!r}; this task offers: {', '.join(available) or 'none'}")
        self.label = label
        self.available = available
