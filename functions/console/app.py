"""GET /console and /console/{file}: the built-in web console (static, not behind mj-api-secret:
the page holds no data; it asks for the secret and sends it with every API call)."""

from mjproxy.console import serve

lambda_handler = serve
