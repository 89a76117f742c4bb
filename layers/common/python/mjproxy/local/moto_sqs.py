"""moto's SQS made safe for the local mode's concurrent pollers and senders (issue 13).

moto 5.2 guards only the append of a sent message with its queue's lock. A delete rebuilds the
queue's message list from a copy and a receive checks a message's visibility before marking it
received, both without the lock, so with several threads on one queue (the runner polls every
queue from its own threads while handlers send from theirs):
- a message sent while another thread deletes is dropped with the old list: a task's only poll
  job vanished and the task stayed SUBMITTED (seen once in 1,000 at `bench/backlog.py 1000`);
- two receives can both take one message: a start job ran twice (1,001 starts for 1,000 tasks).
Real SQS does neither (at-least-once delivery, but nothing sent is lost). Every call that reads or
changes a queue's messages here holds that queue's lock. The lock is a Condition over an RLock:
a long-polling receive waits inside it with `wait_for`, which releases it completely, so senders
are not held up by a waiting receive.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.sqs.models import SQSBackend

# The backend methods that read or change a queue's message list, by their queue-name argument.
GUARDED = ("receive_message", "delete_message", "change_message_visibility", "purge_queue")
_originals: dict[str, Callable[..., Any]] = {}


def _guarded(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def call(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with self.get_queue(queue_name)._messages_lock:
            return original(self, queue_name, *args, **kwargs)

    return call


def install() -> None:
    """Idempotent; `uninstall()` restores moto's own methods."""
    for name in GUARDED:
        if name not in _originals:
            _originals[name] = getattr(SQSBackend, name)
            setattr(SQSBackend, name, _guarded(_originals[name]))


def uninstall() -> None:
    for name, original in _originals.items():
        setattr(SQSBackend, name, original)
    _originals.clear()
