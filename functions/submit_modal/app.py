"""POST /mj/submit/modal: confirm a MODAL task (Custom Zoom, Vary (Region), remix) (plus API)."""

from mjproxy.api.actions import submit_modal
from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import ModalRequest


def modal(request: Request) -> dict:
    return submit_modal(request.model(ModalRequest), request.mode)


lambda_handler = endpoint(modal)
