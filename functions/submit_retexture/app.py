"""POST /mj/submit/retexture: a RETEXTURE task on a given image."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import EditRequest
from mjproxy.api.submit_plus import submit_edit
from mjproxy.domain.task import TaskAction


def retexture(request: Request) -> dict:
    return submit_edit(request.model(EditRequest), TaskAction.RETEXTURE, request.mode)


lambda_handler = endpoint(retexture)
