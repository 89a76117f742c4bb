"""POST /mj/submit/upload-discord-images: store base64 images, answer an array of stable links."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import UploadRequest
from mjproxy.api.uploads import submit_upload


def upload(request: Request) -> dict:
    return submit_upload(request.model(UploadRequest), request.mode)


lambda_handler = endpoint(upload)
