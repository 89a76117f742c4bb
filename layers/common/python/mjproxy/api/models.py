"""Request bodies, declared like pydantic models and parsed with pydantic's rules (api/body.py:
pydantic itself only for unusual values). Unknown fields are ignored like the original's Jackson
setup; numbers are accepted where strings belong (Dooy sends numeric ids)."""

from __future__ import annotations

from ..domain import codes
from ..domain.prompts import BlendDimensions
from ..domain.task import TaskAction
from .body import Body

# Longest accepted values, in characters (docs/limits.md): above anything a real client sends
# (Midjourney takes prompts of about 6,000 characters), far below DynamoDB's 400 KB item limit.
MAX_LENGTHS = {"prompt": 8192, "content": 8192, "state": 4096, "notifyHook": 2048, "taskId": 64}


class _Body(Body):
    notifyHook: str | None = None
    state: str | None = None

    def too_long(self) -> str | None:
        """The code-4 description for the first field over its MAX_LENGTHS, else None."""
        for name, limit in MAX_LENGTHS.items():
            value = getattr(self, name, None)
            if isinstance(value, str) and len(value) > limit:
                return codes.TOO_LONG_FMT.format(field=name, max=limit)
        return None


class AccountFilter(Body):
    """plus API `accountFilter` (plus-api.md §2.1.4): restricts the instance choice."""

    instanceId: str | None = None
    modes: list[str] | None = None
    remix: bool | None = None


class _PlusBody(_Body):
    botType: str | None = None  # MID_JOURNEY (default) | NIJI_JOURNEY
    accountFilter: AccountFilter | None = None


class ImagineRequest(_PlusBody):
    prompt: str | None = None
    base64Array: list[str] | None = None
    base64: str | None = None  # legacy single image (2.1–2.3), appended to base64Array


class ChangeRequest(_Body):
    taskId: str | None = None
    action: TaskAction | None = None
    index: int | None = None


class SimpleChangeRequest(_Body):
    content: str | None = None  # "<taskId> U1..U4|V1..V4|R" (protocol.md §5.2)


class DescribeRequest(_PlusBody):
    base64: str | None = None
    link: str | None = None  # an http(s) image URL, fetched with the callbacks' SSRF guard


class BlendRequest(_PlusBody):
    # Items may be null or non-strings: they answer code 4 base64格式错误, not HTTP 400.
    base64Array: list[str | None] | None = None
    # Omitted -> SQUARE; an explicit null stays None (code 4 dimensions参数错误); an unknown
    # string fails validation (HTTP 400), as in the original.
    dimensions: BlendDimensions | None = BlendDimensions.SQUARE


class UploadRequest(_PlusBody):
    # Items may be null or non-strings: code 4 base64 参数错误, not HTTP 400.
    base64Array: list[str | None] | None = None


class VideoRequest(_PlusBody):
    prompt: str | None = None
    image: str | None = None  # an http(s) URL or a data URL (bare base64 is taken as PNG)
    endImage: str | None = None
    motion: str | None = None  # low (default) | high
    loop: bool | None = None
    action: str | None = None  # "extend" (with taskId: continue that video)
    taskId: str | None = None
    index: int | None = None
    videoType: str | None = None
    batchSize: int | None = None


class FaceSwapRequest(_PlusBody):
    sourceBase64: str | None = None
    sourceUrl: str | None = None
    targetBase64: str | None = None
    targetUrl: str | None = None


class EditRequest(_PlusBody):
    prompt: str | None = None
    image: str | None = None  # an http(s) URL or a data URL (bare base64 is taken as PNG)
    maskBase64: str | None = None  # EDIT only: white = the area to change


class ActionRequest(_Body):
    """POST /mj/submit/action (plus-api.md §2.1, trueai `SubmitActionDTO`)."""

    taskId: str | None = None
    customId: str | None = None
    enableRemix: bool | None = None


class ModalRequest(_Body):
    """POST /mj/submit/modal (trueai `SubmitModalDTO`): confirms a MODAL task."""

    taskId: str | None = None
    prompt: str | None = None
    maskBase64: str | None = None
