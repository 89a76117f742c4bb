"""POST /mj/submit/change: UPSCALE / VARIATION / REROLL of a finished task."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import ChangeRequest
from mjproxy.api.submit import submit_change


def change(request: Request) -> dict:
    return submit_change(request.model(ChangeRequest), request.mode)


lambda_handler = endpoint(change)
