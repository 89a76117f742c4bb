"""POST /mj/submit/edits (alias /mj/submit/edit): an EDIT task on a given image."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import EditRequest
from mjproxy.api.submit_plus import submit_edit
from mjproxy.domain.task import TaskAction


def edits(request: Request) -> dict:
    return submit_edit(request.model(EditRequest), TaskAction.EDIT, request.mode)


lambda_handler = endpoint(edits)
