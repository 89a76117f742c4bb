"""GET /mj/task/queue: tasks waiting or running, oldest first."""

from mjproxy.api.http import endpoint
from mjproxy.api.lists import task_queue

lambda_handler = endpoint(task_queue)
