import pytest

from mjproxy.domain.prompts import change_description, parse_prompt
from mjproxy.domain.task import Task, TaskAction, TaskStatus, new_nonce, new_task_id


def test_task_id_is_16_digits_of_epoch_ms_and_3_random():
    tid = new_task_id(1717401234567)
    assert len(tid) == 16 and tid.isdigit() and tid.startswith("1717401234567")


def test_nonce_is_a_numeric_snowflake():
    nonce = new_nonce(1717401234567)
    assert nonce.isdigit() and 17 <= len(nonce) <= 20


@pytest.mark.parametrize(
    "prompt, aspect",
    [
        ("a fox --ar 3:2", (3, 2)),
        ("a fox --aspect 2:3 --v 6", (2, 3)),
        ("a fox", (1, 1)),
        ("a fox --ar 0:2", (1, 1)),
        ("a fox --ar 10:1", (3, 1)),
        ("a fox --ar x", (1, 1)),
    ],
)
def test_aspect_ratio(prompt, aspect):
    assert parse_prompt(prompt).aspect == aspect


def test_params_and_text():
    parsed = parse_prompt("a red fox in snow --ar 3:2 --no trees, people --seed 42 --v 6.0")
    assert parsed.text == "a red fox in snow"
    assert parsed.seed == 42
    assert parsed.negative == "trees, people"
    assert parsed.params["v"] == "6.0"


def test_change_descriptions():
    assert change_description("1", TaskAction.UPSCALE, 2) == "/up 1 U2"
    assert change_description("1", TaskAction.VARIATION, 3) == "/up 1 V3"
    assert change_description("1", TaskAction.REROLL, None) == "/up 1 R"


def test_terminal_states_are_final():
    task = Task(id="1", action=TaskAction.IMAGINE, status=TaskStatus.SUCCESS)
    assert task.terminal
    for status in TaskStatus:
        assert not task.can_move_to(status)
    running = Task(id="1", action=TaskAction.IMAGINE, status=TaskStatus.IN_PROGRESS)
    assert not running.can_move_to(TaskStatus.SUBMITTED)
    assert running.can_move_to(TaskStatus.SUCCESS)
