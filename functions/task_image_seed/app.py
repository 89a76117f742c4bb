"""GET /mj/task/{id}/image-seed: the seed a finished image task was generated with."""

from mjproxy.api.http import Request, endpoint
from mjproxy.api.task_ops import image_seed


def seed(request: Request) -> dict:
    return image_seed(request.path_params.get("id", ""))


lambda_handler = endpoint(seed)
