"""POST /mj/task/list-by-condition (and its alias /mj/task/list-by-ids): {"ids": [...]}."""

from mjproxy.api.http import endpoint
from mjproxy.api.lists import list_by_condition_endpoint

lambda_handler = endpoint(list_by_condition_endpoint)
