"""POST /mj/submit/action: press a button of a finished task by its customId (plus API)."""

from mjproxy.api.actions import submit_action
from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import ActionRequest


def action(request: Request) -> dict:
    return submit_action(request.model(ActionRequest), request.mode)


lambda_handler = endpoint(action)
