"""The `mjproxy` command: submit, wait with a progress bar, download, press buttons, list tasks
and accounts. Exit codes (stable, for scripts): see EXIT_CODES."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from .client import Client
from .errors import (
    ApiError,
    AuthError,
    ButtonNotFound,
    HttpError,
    TaskFailed,
    TransportError,
    WaitTimeout,
)
from .models import Submitted, Task

EXIT_OK = 0
EXIT_TASK_FAILED = 1  # the task ended FAILURE or CANCEL
EXIT_USAGE = 2  # bad arguments (argparse's own code)
EXIT_REFUSED = 3  # the API refused: a protocol code (3, 4, 9, 21, 23, 24) or no such button
EXIT_AUTH = 4  # HTTP 401: wrong or missing secret
EXIT_UNREACHABLE = 5  # connection failed or an unexpected HTTP status after retries
EXIT_TIMEOUT = 6  # --wait gave up before the task finished
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_TASK_FAILED: "the task ended FAILURE or CANCEL",
    EXIT_USAGE: "bad arguments",
    EXIT_REFUSED: "the API refused the request (protocol code, unknown task or button)",
    EXIT_AUTH: "HTTP 401: the secret is missing or wrong",
    EXIT_UNREACHABLE: "server unreachable or unexpected HTTP status",
    EXIT_TIMEOUT: "--wait timed out",
}


class ProgressBar:
    """One redrawn line on a terminal; one line per change otherwise (logs, CI)."""

    def __init__(self, out: TextIO, width: int = 30) -> None:
        self.out = out
        self.width = width
        self.tty = out.isatty()

    def __call__(self, task: Task) -> None:
        pct = task.percent
        filled = round(self.width * (pct or 0) / 100)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"{task.id} {task.status:<11} [{bar}] {task.progress or ''}"
        if self.tty:
            self.out.write("\r" + line + ("\n" if task.done else ""))
        else:
            self.out.write(line + "\n")
        self.out.flush()


def _parser() -> argparse.ArgumentParser:
    epilog = "exit codes:\n" + "\n".join(f"  {k}  {v}" for k, v in EXIT_CODES.items())
    p = argparse.ArgumentParser(
        prog="mjproxy",
        description="Client for a Midjourney-Proxy API (this project's or any compatible one).",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--base-url", help="API root (default $MJ_BASE_URL or http://127.0.0.1:8080)")
    p.add_argument("--secret", help="mj-api-secret (default $MJ_API_SECRET)")
    p.add_argument("--http-timeout", type=float, default=30.0, help="seconds per HTTP request")
    sub = p.add_subparsers(dest="command", required=True)

    def waiting(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--wait", action="store_true", help="wait for the task, with progress")
        cmd.add_argument("-o", "--output", type=Path, help="with --wait: save the image(s) here")
        cmd.add_argument("--parts", action="store_true", help="also save the four grid images")
        cmd.add_argument("--timeout", type=float, default=600, help="--wait limit in seconds")
        cmd.add_argument("--json", action="store_true", help="print the final task as JSON")

    c = sub.add_parser("imagine", help="submit a prompt")
    c.add_argument("prompt")
    c.add_argument("--image", action="append", type=Path, default=[], help="reference image")
    c.add_argument("--mode", choices=["fast", "relax", "turbo"], help="speed mode (path prefix)")
    waiting(c)
    c = sub.add_parser("press", help='press a button by label: U1, V2, "Vary (Strong)", 🔄')
    c.add_argument("task_id")
    c.add_argument("label")
    c.add_argument("--prompt", help="prompt for a modal (Custom Zoom: include --zoom 1.5)")
    c.add_argument("--mask", type=Path, help="mask PNG for Vary (Region)")
    waiting(c)
    c = sub.add_parser("describe", help="four prompts for an image")
    c.add_argument("image", type=Path)
    waiting(c)
    c = sub.add_parser("blend", help="blend 2-5 images")
    c.add_argument("images", type=Path, nargs="+")
    c.add_argument("--dimensions", choices=["PORTRAIT", "SQUARE", "LANDSCAPE"])
    waiting(c)
    c = sub.add_parser("wait", help="wait for a task")
    c.add_argument("task_id")
    waiting(c)
    c = sub.add_parser("fetch", help="print one task as JSON")
    c.add_argument("task_id")
    c = sub.add_parser("cancel", help="cancel a task")
    c.add_argument("task_id")
    c = sub.add_parser("tasks", help="recent tasks, newest first")
    c.add_argument("--limit", type=int, default=20)
    c.add_argument("--status", help="only this status (e.g. SUCCESS)")
    c.add_argument("--json", action="store_true")
    c = sub.add_parser("accounts", help="instances with provider, state and counts")
    c.add_argument("--json", action="store_true")
    acts = c.add_subparsers(dest="account_command")
    e = acts.add_parser("enable", help="put an account disabled at run time back in service")
    e.add_argument("account_id")
    e.add_argument("--json", action="store_true", help="print the account as JSON")
    return p


def _table(rows: list[list[str]], headers: list[str], out: TextIO) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    for r in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


def _clip(text: str | None, n: int = 48) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _finish(client: Client, args: argparse.Namespace, submitted: Submitted, out: TextIO) -> int:
    if submitted.queued_ahead:
        sys.stderr.write(f"queued: {submitted.queued_ahead} task(s) ahead\n")
    if not getattr(args, "wait", False):
        out.write(submitted.task_id + "\n")
        return EXIT_OK
    return _wait_and_show(client, args, submitted.task_id, out)


def _wait_and_show(client: Client, args: argparse.Namespace, task_id: str, out: TextIO) -> int:
    task = client.wait(task_id, timeout=args.timeout, on_progress=ProgressBar(sys.stderr))
    if args.json:
        out.write(json.dumps(task.raw, ensure_ascii=False) + "\n")
    else:
        out.write(f"{task.id} {task.status} {task.action or ''}\n")
        if task.action == "DESCRIBE" and task.prompt:
            out.write(task.prompt.strip() + "\n")
        elif task.image_url:
            out.write(f"image: {task.image_url}\n")
        if task.buttons:
            out.write("buttons: " + "  ".join(b.name for b in task.buttons) + "\n")
    if args.output:
        for path in client.download(task, args.output, grid_parts=args.parts):
            out.write(f"saved {path}\n")
    return EXIT_OK


def _run(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    cmd = args.command
    if cmd == "imagine":
        return _finish(client, args, client.imagine(args.prompt, args.image, args.mode), out)
    if cmd == "press":
        return _finish(
            client, args, client.press(args.task_id, args.label, args.prompt, args.mask), out
        )
    if cmd == "describe":
        return _finish(client, args, client.describe(args.image), out)
    if cmd == "blend":
        return _finish(client, args, client.blend(args.images, args.dimensions), out)
    if cmd == "wait":
        return _wait_and_show(client, args, args.task_id, out)
    if cmd == "fetch":
        task = client.fetch(args.task_id)
        if task is None:
            sys.stderr.write(f"no task {args.task_id}\n")
            return EXIT_REFUSED
        out.write(json.dumps(task.raw, ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    if cmd == "cancel":
        out.write(f"cancelled {client.cancel(args.task_id).task_id}\n")
        return EXIT_OK
    if cmd == "tasks":
        return _tasks(client, args, out)
    if cmd == "accounts" and args.account_command == "enable":
        return _enable(client, args, out)
    if cmd == "accounts":
        return _accounts(client, args, out)
    raise AssertionError(cmd)


def _tasks(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    found: list[Task] = []
    cursor: str | None = None
    while len(found) < args.limit:
        page, cursor = client.list_tasks(min(100, max(args.limit, 20)), cursor)
        found += [t for t in page if not args.status or t.status == args.status.upper()]
        if not cursor:
            break
    found = found[: args.limit]
    if args.json:
        out.write(json.dumps([t.raw for t in found], ensure_ascii=False) + "\n")
        return EXIT_OK
    rows = [
        [
            t.id,
            t.action or "",
            t.status,
            t.progress or "",
            _when(t.submit_time),
            _clip(t.prompt or t.description),
        ]
        for t in found
    ]
    _table(rows, ["ID", "ACTION", "STATUS", "PROGRESS", "SUBMITTED", "PROMPT"], out)
    return EXIT_OK


def _accounts(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    accounts = client.accounts()
    if args.json:
        out.write(json.dumps(accounts, ensure_ascii=False) + "\n")
        return EXIT_OK
    rows = []
    for a in accounts:
        props = a.get("properties") or {}
        rows.append(
            [
                str(a.get("id")),
                str(props.get("provider") or ""),
                _state(a),
                str(a.get("runningCount", "")),
                str(a.get("waitingCount", "")),
                f"{a.get('coreSize', '')}/{a.get('queueSize', '')}",
            ]
        )
    _table(rows, ["ID", "PROVIDER", "STATE", "RUNNING", "WAITING", "CORE/QUEUE"], out)
    return EXIT_OK


def _state(account: dict) -> str:
    props = account.get("properties") or {}
    reason = props.get("disabledReason")
    state = "enabled" if account.get("enable") else "disabled"
    return (
        state
        + (f" ({reason})" if reason and not account.get("enable") else "")
        + (" relax-only" if props.get("fastExhaustedReason") else "")
    )


def _enable(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """Exit 0 once the account is in service; EXIT_REFUSED (3) for an unknown id or one
    disabled in configuration (the API's code 3 / 4, its description on stderr)."""
    account = client.enable_account(args.account_id)
    if args.json:
        out.write(json.dumps(account, ensure_ascii=False) + "\n")
    else:
        out.write(f"{account.get('id', args.account_id)} {_state(account)}\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        with Client(args.base_url, args.secret, timeout=args.http_timeout) as client:
            return _run(client, args, out)
    except TaskFailed as exc:
        sys.stderr.write(f"failed: {exc}\n")
        if getattr(args, "json", False):
            out.write(json.dumps(exc.task.raw, ensure_ascii=False) + "\n")
        return EXIT_TASK_FAILED
    except (ApiError, ButtonNotFound) as exc:
        sys.stderr.write(f"refused: {exc}\n")
        return EXIT_REFUSED
    except AuthError:
        sys.stderr.write("HTTP 401: pass --secret or set MJ_API_SECRET\n")
        return EXIT_AUTH
    except (HttpError, TransportError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_UNREACHABLE
    except WaitTimeout as exc:
        sys.stderr.write(f"timeout: {exc}\n")
        return EXIT_TIMEOUT


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
