"""The Niji bot in the simulator: a second application in the guild (id 1022952195194359889,
trueai-org/midjourney-proxy@ed32197 src/Midjourney.Base/Data/Constants.cs:72) with its own
command ids (trueai Resources/ApiParams/*niji.json; tests/fixtures/midjourney/niji.json). Its
jobs run like Midjourney's; their messages are authored by the Niji bot and name its
application, and their buttons must be pressed with its application id."""

from __future__ import annotations

from typing import Any

from .formats import MJ_APP_ID, MJ_AUTHOR

NIJI_APP_ID = "1022952195194359889"
COMMAND_IDS = {
    "imagine": "1023054140580057099",
    "describe": "1092683500743831652",
    "blend": "1061216934374424697",
    "shorten": "1121575453916942376",
    "show": "1023054140580057101",
}
AUTHOR = {**MJ_AUTHOR, "id": NIJI_APP_ID, "username": "niji・journey Bot", "avatar": None}


def key(app: str, name: str) -> str:
    """The simulator's version table key of a command."""
    return f"niji:{name}" if app == NIJI_APP_ID else name


def command_id(app: str, name: str, mj_ids: dict[str, str]) -> str | None:
    return (COMMAND_IDS if app == NIJI_APP_ID else mj_ids).get(name)


def index_entries(versions: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"id": cid, "application_id": NIJI_APP_ID, "version": versions[key(NIJI_APP_ID, name)],
         "name": name, "type": 1, "description": f"/{name}", "options": [],
         "integration_types": [0, 1], "contexts": [0, 1, 2]}
        for name, cid in COMMAND_IDS.items()
    ]  # fmt: skip


def author(app: str) -> dict[str, Any]:
    return AUTHOR if app == NIJI_APP_ID else MJ_AUTHOR


APPS = (MJ_APP_ID, NIJI_APP_ID)
