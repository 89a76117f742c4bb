"""POST /mj/account/{id}/enable: put an account disabled at run time back into service."""

from mjproxy.api.accounts import enable_account
from mjproxy.api.http import Request, endpoint


def enable(request: Request) -> dict:
    return enable_account(request.path_params.get("id", ""))


lambda_handler = endpoint(enable)
