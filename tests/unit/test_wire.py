import json
from decimal import Decimal

from mjproxy import wire
from mjproxy.domain.task import Task, TaskAction, TaskStatus


def test_task_json_has_every_field_even_when_unset():
    task = Task(id="1717401234567123", action=TaskAction.IMAGINE, submitTime=1717401234567)
    out = wire.task_json(task)
    for name in wire.TASK_FIELDS:
        assert name in out
    assert out["startTime"] is None and out["imageUrl"] is None and out["progress"] is None
    assert out["status"] == "NOT_START" and out["action"] == "IMAGINE"


def test_decimals_from_dynamodb_become_integers_never_floats():
    task = Task(
        id="1",
        action=TaskAction.IMAGINE,
        submitTime=Decimal("1717401234567"),
        startTime=Decimal("1717401235012"),
        properties={"flags": Decimal("0")},
    )
    text = wire.dumps(wire.task_json(task))
    assert '"submitTime":1717401234567' in text
    assert '"startTime":1717401235012' in text
    assert '"flags":0' in text
    assert "1.7" not in text and ".0" not in text


def test_dumps_is_compact_so_relays_can_string_replace_codes():
    text = wire.dumps(wire.envelope(22, "排队中，前面还有1个任务", "123", {"numberOfQueues": 1}))
    assert text.startswith('{"code":22,"description":"排队中，前面还有1个任务","result":"123"')
    assert ", " not in text and ": " not in text


def test_ids_are_strings_and_state_is_verbatim():
    state = '{"chat": 42, "emoji": "🦊"}'
    task = Task(id=1717401234567123, action=TaskAction.IMAGINE, state=state)  # type: ignore[arg-type]
    data = json.loads(wire.dumps(wire.task_json(task)))
    assert data["id"] == "1717401234567123"
    assert data["state"] == state


def test_envelope_result_is_string_or_null_and_properties_always_object():
    assert wire.envelope(4, "prompt不能为空") == {
        "code": 4,
        "description": "prompt不能为空",
        "result": None,
        "properties": {},
    }
    assert wire.envelope(1, "提交成功", 17)["result"] == "17"


def test_image_url_is_resolved_from_the_key_on_every_read():
    task = Task(
        id="9",
        action=TaskAction.IMAGINE,
        status=TaskStatus.SUCCESS,
        imageKey="tasks/9/grid.png",
        quadrantKeys=[f"tasks/9/{i}.png" for i in range(1, 5)],
    )
    out = wire.task_json(task, lambda key: f"https://signed/{key}")
    assert out["imageUrl"] == "https://signed/tasks/9/grid.png"
    assert [u["url"] for u in out["imageUrls"]][0] == "https://signed/tasks/9/1.png"


def test_preview_shown_only_while_running():
    running = Task(
        id="9",
        action=TaskAction.IMAGINE,
        status=TaskStatus.IN_PROGRESS,
        previewKey="tasks/9/preview.png",
    )
    assert wire.task_json(running, lambda k: k)["imageUrl"] == "tasks/9/preview.png"
    failed = Task(
        id="9",
        action=TaskAction.IMAGINE,
        status=TaskStatus.FAILURE,
        previewKey="tasks/9/preview.png",
    )
    assert wire.task_json(failed, lambda k: k)["imageUrl"] is None


def test_a_linked_preview_is_the_image_while_running_and_a_stored_image_wins():
    cdn = "https://cdn.discordapp.com/attachments/1/2/owl_grid_0.webp?ex=1"

    def image_url(status: TaskStatus, **keys: str) -> str | None:
        task = Task(id="9", action=TaskAction.IMAGINE, status=status,
                    providerState={"previewUrl": cdn}, **keys)  # fmt: skip
        return wire.task_json(task, lambda k: f"https://signed/{k}")["imageUrl"]

    assert image_url(TaskStatus.IN_PROGRESS) == cdn  # MJ_MIDJOURNEY_PREVIEWS=link
    stored = image_url(TaskStatus.IN_PROGRESS, previewKey="tasks/9/preview.png")
    assert stored == "https://signed/tasks/9/preview.png"
    done = image_url(TaskStatus.SUCCESS, imageKey="tasks/9/grid.png")
    assert done == "https://signed/tasks/9/grid.png"
    assert image_url(TaskStatus.FAILURE) is None
