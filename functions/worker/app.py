"""SQS worker: each record is one job that moves one task one step (mjproxy.worker)."""

from mjproxy.worker_handler import jobs_handler

lambda_handler = jobs_handler
