"""POST /mj/task/{id}/cancel: a waiting or running task ends as CANCEL and frees its slot."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.task_ops import cancel


def cancel_task(request: Request) -> dict:
    return cancel(request.path_params.get("id", ""))


lambda_handler = endpoint(cancel_task)
