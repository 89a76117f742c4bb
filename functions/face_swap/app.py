"""POST /mj/insight-face/swap: a SWAP_FACE task (openai instances; elsewhere code 4 服务不支持)."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import FaceSwapRequest
from mjproxy.api.submit_plus import submit_face_swap


def swap(request: Request) -> dict:
    return submit_face_swap(request.model(FaceSwapRequest), request.mode)


lambda_handler = endpoint(swap)
