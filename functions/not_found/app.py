"""The API's $default route: every request no route matches answers the protocol's 404
(Spring Boot's error JSON, protocol.md "Unknown path"), as the REST API's gateway response did."""

from mjproxy.api.http import Request, endpoint, spring_error


def not_found(request: Request) -> dict:
    return spring_error(404, "Not Found", request.path)


lambda_handler = endpoint(not_found, authenticated=False)
