"""The local mode's data directory: what the embedded AWS emulation holds survives a restart.

Why this design (docs/local-mode.md): moto keeps everything in memory, and its objects are not a
file format (pickles of moto internals break on the next moto upgrade). So the store keeps what
the public APIs say, and the emulation is refilled through the same APIs at start:

- `journal.log`: every successful DynamoDB item write (the item as it is after the write, read
  back through GetItem) and every S3 object written or deleted, appended as one checksummed line
  per request (a crash mid-line loses that line only; a transaction is one line, so it is kept
  or lost whole). Written straight to the OS, so SIGKILL loses nothing already answered;
  fsynced every second, so a power cut loses at most the last second.
- `s3/<bucket>/<key, percent-encoded>`: object bytes, written (tmp file, fsync, rename) before
  their journal line, so a line never names a missing file.
- `snapshot.log`: the journal compacted (one line per live item/object), rewritten at start
  (tmp file, fsync, rename) and when the journal grows; then the journal starts empty.
- `sqs.json`: the messages of every queue (body, attributes, remaining delay), rewritten after
  every send or delete (queues are short) and fsynced every second. A message that was being handled at a crash is visible again after
  the restart: delivered once more, as SQS does after a visibility timeout.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from .emulator import Write

log = logging.getLogger("mjproxy.local")

FLUSH_SECONDS = 1.0
COMPACT_BYTES = 64 * 1024 * 1024  # compact a journal past this size (and past the snapshot's)


def _encode(value: Any) -> Any:
    """DynamoDB values from boto3 hold bytes for B/BS; JSON holds them as {"$b64": ...}."""
    if isinstance(value, bytes | bytearray):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$b64"}:
            return base64.b64decode(value["$b64"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _line(records: list[dict[str, Any]]) -> bytes:
    payload = json.dumps(_encode(records), separators=(",", ":"), ensure_ascii=True).encode()
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def read_lines(path: Path) -> Iterator[list[dict[str, Any]]]:
    """Records of every intact line; a torn or corrupt line (crash mid-write) is skipped."""
    if not path.exists():
        return
    with open(path, "rb") as fh:
        for raw in fh:
            crc, _, payload = raw.rstrip(b"\n").partition(b" ")
            try:
                if int(crc, 16) != zlib.crc32(payload):
                    raise ValueError("checksum")
                yield _decode(json.loads(payload))
            except ValueError:
                log.warning("data dir: skipped a damaged line in %s", path.name)


def _fsync_path(path: Path) -> None:
    """fsync a file or a directory (a rename is durable once its directory is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, sync: bool = True) -> None:
    """Replace `path` whole: a crash leaves the old or the new content, never a mix."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    if sync:
        _fsync_path(path.parent)


class DataDir:
    """The data directory of one local system. `restore()` at start (moto provisioned, nothing
    journaled yet), then `attach(emulator)`; `close()` at stop."""

    def __init__(self, root: str | Path, key_attrs: dict[str, list[str]]) -> None:
        self.root = Path(root)
        self.key_attrs = key_attrs  # physical table name -> key attribute names
        self.root.mkdir(parents=True, exist_ok=True)
        self.journal_path = self.root / "journal.log"
        self.snapshot_path = self.root / "snapshot.log"
        self.sqs_path = self.root / "sqs.json"
        self.blobs = self.root / "s3"
        self._journal: Any = None
        self._lock = threading.Lock()
        self._dirty = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sqs_written = b""
        self._sqs_unsynced = False
        self._sqs_lock = threading.Lock()
        self._emulator: Any = None
        self.restored = {"items": 0, "objects": 0, "messages": 0}

    # ---- secrets kept with the data ------------------------------------------------------
    def secret(self, name: str) -> str:
        """A random secret created once and kept in the data directory (stable links signed
        before a restart still verify after it)."""
        path = self.root / name
        if not path.exists():
            atomic_write(path, secrets.token_hex(32).encode())
        return path.read_text().strip()

    # ---- restore -------------------------------------------------------------------------
    def _state(self) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str], Any]]:
        items: dict[tuple[str, str], Any] = {}
        objects: dict[tuple[str, str], Any] = {}
        for path in (self.snapshot_path, self.journal_path):
            for records in read_lines(path):
                for r in records:
                    if "d" in r:
                        items[(r["d"], json.dumps(r["k"], sort_keys=True))] = r
                    elif "s" in r:
                        objects[(r["s"], r["k"])] = r
        return items, objects

    def restore(self) -> None:
        """Refill the (just provisioned) emulation from the data directory, then compact."""
        import boto3

        ddb = boto3.client("dynamodb")
        s3 = boto3.client("s3")
        items, objects = self._state()
        live_items = [r for r in items.values() if r.get("i") is not None]
        by_table: dict[str, list[dict[str, Any]]] = {}
        for r in live_items:
            if r["d"] in self.key_attrs:  # a table no longer in the template is left out
                by_table.setdefault(r["d"], []).append(r["i"])
        for table, rows in by_table.items():
            for n in range(0, len(rows), 25):
                batch = [{"PutRequest": {"Item": i}} for i in rows[n : n + 25]]
                pending: dict[str, Any] = {table: batch}
                while pending:
                    pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems", {})
                self.restored["items"] += len(batch)
        live_objects = []
        for (bucket, key), r in objects.items():
            if r.get("del"):
                continue
            blob = self._blob_path(bucket, key)
            try:
                data = blob.read_bytes()
            except OSError:
                log.warning("data dir: object %s/%s has no file; left out", bucket, key)
                continue
            try:
                s3.put_object(Bucket=bucket, Key=key, Body=data,
                              ContentType=r.get("ct") or "binary/octet-stream")  # fmt: skip
            except Exception:  # a bucket no longer in the template
                log.warning("data dir: object %s/%s not restored", bucket, key)
                continue
            live_objects.append(r)
            self.restored["objects"] += 1
        self._restore_sqs()
        # Compact: the snapshot becomes exactly the live state; the journal starts empty.
        lines = b"".join(_line([r]) for r in live_items) + b"".join(
            _line([r]) for r in live_objects
        )
        atomic_write(self.snapshot_path, lines)
        self._journal = open(self.journal_path, "wb", buffering=0)  # noqa: SIM115 - kept open
        _fsync_path(self.root)

    def _restore_sqs(self) -> None:
        import boto3

        if not self.sqs_path.exists():
            return
        try:
            queues = json.loads(self.sqs_path.read_text())
        except ValueError:
            log.warning("data dir: sqs.json unreadable; queued jobs not restored")
            return
        sqs = boto3.client("sqs")
        for name, messages in queues.items():
            try:
                url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            except Exception:
                continue
            for m in messages:
                kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": m["body"]}
                if m.get("attrs"):
                    kwargs["MessageAttributes"] = _decode(m["attrs"])
                if m.get("delay"):
                    kwargs["DelaySeconds"] = int(min(900, m["delay"]))
                sqs.send_message(**kwargs)
                self.restored["messages"] += 1

    # ---- journal -------------------------------------------------------------------------
    def attach(self, emulator: Any) -> None:
        self._emulator = emulator
        emulator.hook = self.record
        self._thread = threading.Thread(target=self._flusher, name="data-dir", daemon=True)
        self._thread.start()

    def record(self, write: Write) -> None:
        """Called under the emulator's lock right after a successful write."""
        if write.service == "sqs":
            # Queues are small: the whole of them, rewritten (renamed into place, so a crash
            # leaves the old or the new file); fsynced with the journal.
            self._snapshot_sqs(sync=False)
            return
        records = self._ddb_records(write) if write.service == "dynamodb" else self._s3(write)
        if records:
            self._append(records)

    def _append(self, records: list[dict[str, Any]]) -> None:
        with self._lock:
            if self._journal is not None:
                self._journal.write(_line(records))
                self._dirty = True

    def _keys(self, write: Write) -> list[tuple[str, dict[str, Any]]]:
        body = write.body or {}
        out: list[tuple[str, dict[str, Any]]] = []

        def key_of(table: str, item: dict[str, Any]) -> dict[str, Any] | None:
            names = self.key_attrs.get(table)
            if not names or not all(n in item for n in names):
                return None
            return {n: item[n] for n in names}

        def add(table: str, key: dict[str, Any] | None) -> None:
            if table and key:
                out.append((table, key))

        op = write.operation
        if op == "PutItem":
            add(body.get("TableName", ""), key_of(body.get("TableName", ""), body.get("Item", {})))
        elif op in ("UpdateItem", "DeleteItem"):
            add(body.get("TableName", ""), body.get("Key"))
        elif op == "BatchWriteItem":
            for table, requests in (body.get("RequestItems") or {}).items():
                for req in requests:
                    if "PutRequest" in req:
                        add(table, key_of(table, req["PutRequest"].get("Item", {})))
                    elif "DeleteRequest" in req:
                        add(table, req["DeleteRequest"].get("Key"))
        elif op == "TransactWriteItems":
            for entry in body.get("TransactItems") or []:
                for kind, spec in entry.items():
                    table = spec.get("TableName", "")
                    if kind == "Put":
                        add(table, key_of(table, spec.get("Item", {})))
                    elif kind in ("Update", "Delete"):
                        add(table, spec.get("Key"))
        return out

    def _ddb_records(self, write: Write) -> list[dict[str, Any]]:
        import boto3

        ddb = _client(boto3, "dynamodb")
        records = []
        for table, key in self._keys(write):
            # Wire-format JSON in the request; boto3's low-level client speaks the same shapes.
            item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            records.append({"d": table, "k": key, "i": item})
        return records

    def _blob_path(self, bucket: str, key: str) -> Path:
        return self.blobs / quote(bucket, safe="") / quote(key, safe="")

    def _s3(self, write: Write) -> list[dict[str, Any]]:
        import boto3

        s3 = _client(boto3, "s3")
        parts = write.path.lstrip("/").split("/", 1)
        bucket = unquote(parts[0])
        if len(parts) == 1 or not parts[1]:
            return []  # bucket-level requests (create, configuration) are the template's job
        key = unquote(parts[1])
        blob = self._blob_path(bucket, key)
        try:
            out = s3.get_object(Bucket=bucket, Key=key)
        except s3.exceptions.NoSuchKey:
            blob.unlink(missing_ok=True)
            return [{"s": bucket, "k": key, "del": True}]
        except Exception:
            return []
        blob.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(blob, out["Body"].read())
        return [{"s": bucket, "k": key, "ct": out.get("ContentType")}]

    # ---- background ----------------------------------------------------------------------
    def _flusher(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            try:
                self.flush()
            except Exception:
                log.exception("data dir: flush failed")

    def flush(self) -> None:
        with self._lock:
            if self._journal is not None and self._dirty:
                os.fsync(self._journal.fileno())
                self._dirty = False
        self._snapshot_sqs()
        if self._journal is not None and self.journal_path.stat().st_size > max(
            COMPACT_BYTES, 2 * self.snapshot_path.stat().st_size
        ):
            self.compact()

    def compact(self) -> None:
        """Rewrite the snapshot from the journal and start an empty journal. Writes wait on
        the emulator's lock meanwhile (rare: a journal past COMPACT_BYTES)."""
        lock = self._emulator.lock if self._emulator is not None else threading.RLock()
        with lock, self._lock:
            items, objects = self._state()
            lines = [_line([r]) for r in items.values() if r.get("i") is not None]
            lines += [_line([r]) for r in objects.values() if not r.get("del")]
            atomic_write(self.snapshot_path, b"".join(lines))
            self._journal.close()
            self._journal = open(self.journal_path, "wb", buffering=0)  # noqa: SIM115
            _fsync_path(self.root)

    def _snapshot_sqs(self, sync: bool = True) -> None:
        with self._sqs_lock:
            data = json.dumps(sqs_messages(), sort_keys=True, separators=(",", ":")).encode()
            if data != self._sqs_written:
                atomic_write(self.sqs_path, data, sync=sync)
                self._sqs_written = data
                self._sqs_unsynced = not sync
            elif sync and self._sqs_unsynced:
                _fsync_path(self.sqs_path)
                _fsync_path(self.root)
                self._sqs_unsynced = False

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.flush()
        finally:
            with self._lock:
                if self._journal is not None:
                    self._journal.close()
                    self._journal = None


_clients: dict[str, Any] = {}


def _client(boto3: Any, service: str) -> Any:
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


def sqs_messages() -> dict[str, list[dict[str, Any]]]:
    """Every queue's messages, read from moto's SQS backend without receiving them (a receive
    would change what it reads). Moto internals: if they change shape, queued jobs are not kept
    and the sweeper ends their tasks instead."""
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sqs.models import sqs_backends

        region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        backend = sqs_backends[DEFAULT_ACCOUNT_ID][region]
        now = time.time()
        out: dict[str, list[dict[str, Any]]] = {}
        for name, queue in list(backend.queues.items()):
            msgs = []
            for m in list(queue._messages):
                until = float(m.delayed_until or 0)
                until = until / 1000 if until > 1e11 else until  # moto keeps milliseconds
                delay = max(0.0, until - now)
                msgs.append(
                    {
                        "body": m.body,
                        "attrs": _encode(m.message_attributes or {}),
                        "delay": round(delay, 3),
                    }
                )
            if msgs:
                out[name] = msgs
        return out
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("data dir: cannot read the queues")
        return {}
