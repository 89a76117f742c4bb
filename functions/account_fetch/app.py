"""GET /mj/account/{id}/fetch: one instance, or the JSON null when unknown."""

from mjproxy.api.accounts import account_fetch
from mjproxy.api.http import Request, endpoint


def fetch_account(request: Request) -> dict | None:
    return account_fetch(request.path_params.get("id", ""))


lambda_handler = endpoint(fetch_account)
