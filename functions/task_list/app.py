"""GET /mj/task/list: tasks newest first as a bare array; `pageSize`/`cursor`, X-Next-Cursor."""

from mjproxy.api.http import endpoint
from mjproxy.api.lists import task_list

lambda_handler = endpoint(task_list)
