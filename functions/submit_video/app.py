"""POST /mj/submit/video: a VIDEO task from an image (or extending a video); MP4 in videoUrl."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import VideoRequest
from mjproxy.api.submit_plus import submit_video


def video(request: Request) -> dict:
    return submit_video(request.model(VideoRequest), request.mode)


lambda_handler = endpoint(video)
