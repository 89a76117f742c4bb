"""A Discord + Midjourney simulator for mjproxy's tests and local demo (not part of the Lambda
layer). See docs/midjourney.md."""

from .clock import ManualClock, RealClock
from .core import Account, Job, Simulator
from .server import SimServer, Ticker, transport_for

__all__ = [
    "Account",
    "Job",
    "ManualClock",
    "RealClock",
    "SimServer",
    "Simulator",
    "Ticker",
    "transport_for",
]
