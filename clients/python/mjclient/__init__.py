"""mjclient: a typed Python client (sync and async) and the `mjproxy` CLI for a Midjourney-Proxy API."""

from .client import AsyncClient, Client
from .errors import (
    ApiError,
    AuthError,
    BannedPromptError,
    ButtonNotFound,
    ExistingTaskError,
    HttpError,
    MjError,
    NotFoundError,
    QueueFullError,
    SubmitFailedError,
    TaskFailed,
    TransportError,
    ValidationError,
    WaitTimeout,
)
from .models import Button, Submitted, Task

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthError",
    "BannedPromptError",
    "Button",
    "ButtonNotFound",
    "Client",
    "ExistingTaskError",
    "HttpError",
    "MjError",
    "NotFoundError",
    "QueueFullError",
    "SubmitFailedError",
    "Submitted",
    "Task",
    "TaskFailed",
    "TransportError",
    "ValidationError",
    "WaitTimeout",
]
