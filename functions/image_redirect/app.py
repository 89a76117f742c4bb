"""GET /mj/image/{id}/{file}: a stable image link that redirects to a fresh presigned S3 URL.
Not behind mj-api-secret: relays fetch stored image URLs without it; the link's signature
(`sig`, HMAC of the key) protects it instead."""

from mjproxy.api.http import endpoint
from mjproxy.api.image_links import redirect

lambda_handler = endpoint(redirect, authenticated=False)
