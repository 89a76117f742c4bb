"""GET /mj/task/{id}/fetch: one task, or the JSON null when unknown."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.tasks import fetch


def fetch_task(request: Request) -> dict | None:
    return fetch(request.path_params.get("id", ""))


lambda_handler = endpoint(fetch_task)
