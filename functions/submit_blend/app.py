"""POST /mj/submit/blend: a grid combining 2-5 images (`base64Array`, `dimensions`)."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import BlendRequest
from mjproxy.api.submit_more import submit_blend


def blend(request: Request) -> dict:
    return submit_blend(request.model(BlendRequest), request.mode)


lambda_handler = endpoint(blend)
