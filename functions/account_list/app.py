"""GET /mj/account/list: the instances with their settings and live counters (no secrets)."""

from mjproxy.api.accounts import account_list
from mjproxy.api.http import Request, endpoint


def list_accounts(request: Request) -> list:
    return account_list()


lambda_handler = endpoint(list_accounts)
