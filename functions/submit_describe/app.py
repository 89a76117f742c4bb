"""POST /mj/submit/describe: four prompts for an image (`base64` data URL)."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.models import DescribeRequest
from mjproxy.api.submit_more import submit_describe


def describe(request: Request) -> dict:
    return submit_describe(request.model(DescribeRequest), request.mode)


lambda_handler = endpoint(describe)
