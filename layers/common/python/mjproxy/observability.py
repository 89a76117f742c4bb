"""Module singletons for logging (Powertools structured JSON logs)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="mjproxy")
