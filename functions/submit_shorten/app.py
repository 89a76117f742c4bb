"""POST /mj/submit/shorten: a SHORTEN task whose result is five shorter prompts."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import ImagineRequest
from mjproxy.api.submit_plus import submit_shorten


def shorten(request: Request) -> dict:
    return submit_shorten(request.model(ImagineRequest), request.mode)


lambda_handler = endpoint(shorten)
