"""POST /mj/submit/imagine (also under /mj-fast, /mj-relax, /mj-turbo)."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import ImagineRequest
from mjproxy.api.submit import submit_imagine


def imagine(request: Request) -> dict:
    return submit_imagine(request.model(ImagineRequest), request.mode)


lambda_handler = endpoint(imagine)
