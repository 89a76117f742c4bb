"""POST /mj/submit/simple-change: `content` "<taskId> U1..U4|V1..V4|R", then as change."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import SimpleChangeRequest
from mjproxy.api.submit_more import submit_simple_change


def simple_change(request: Request) -> dict:
    return submit_simple_change(request.model(SimpleChangeRequest), request.mode)


lambda_handler = endpoint(simple_change)
