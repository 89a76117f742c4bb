"""Jobs dead-letter queue: a job that exhausted its retries fails its task with a reason."""

from mjproxy.worker_handler import dead_letter_handler

lambda_handler = dead_letter_handler
