"""POST /mj/insight-face/swap: face swap (answers code 4: no provider has a face-swap model)."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import FaceSwapRequest
from mjproxy.api.submit_plus import submit_face_swap


def swap(request: Request) -> dict:
    return submit_face_swap(request.model(FaceSwapRequest), request.mode)


lambda_handler = endpoint(swap)
