"""Shared library of the Midjourney-Proxy-compatible serverless API (the Lambda layer)."""

__version__ = "0.1.0"
