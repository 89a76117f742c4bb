"""template.yaml wires the `bedrock` and `openai` providers the way their code and
docs/providers.md expect: worker-only settings whose parameter defaults are the code's defaults,
least-privilege policies, and a worker sized for one long generation step."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from mjproxy.local.template import Template
from mjproxy.providers.bedrock import BedrockConfig
from mjproxy.providers.common import StepConfig
from mjproxy.providers.openai import OpenAIConfig

ROOT = Path(__file__).resolve().parents[2]
PREFIXES = ("MJ_BEDROCK_", "MJ_OPENAI_", "MJ_PROVIDER_")


def _template() -> Template:
    return Template(ROOT / "template.yaml")


# The worker and the waiting worker: one handler, one environment, one set of permissions.
WORKERS = ("WorkerFunction", "WaitWorkerFunction")


def _worker(template: Template) -> dict:
    return template.resources["WorkerFunction"]["Properties"]


def _defaults() -> dict[str, object]:
    out = {}
    for cls in (BedrockConfig, OpenAIConfig):
        for f in fields(cls):
            out[f.metadata["env"]] = f.default
    return out


def test_provider_settings_are_set_on_the_worker_only():
    template = _template()
    for fn in template.functions():
        names = [n for n in fn.environment if n.startswith(PREFIXES)]
        if fn.name in WORKERS:
            assert "MJ_BEDROCK_IMAGE_MODEL_ID" in names and "MJ_OPENAI_API_KEY_SECRET" in names
        else:
            assert names == [], fn.name


def test_parameter_defaults_are_the_code_defaults():
    """A deploy with default parameters runs exactly the documented configuration."""
    template = _template()
    defaults = _defaults()
    env = _worker(template)["Environment"]["Variables"]
    for name, value in env.items():
        if not name.startswith(PREFIXES):
            continue
        assert name in defaults, f"{name} is not a provider setting"
        resolved = template.resolve(value)
        expected = defaults[name]
        if isinstance(expected, float):
            assert float(resolved) == expected, name
        else:
            assert resolved == str(expected), name


def test_provider_timeouts_fit_the_worker_and_the_queue():
    template = _template()
    worker = _worker(template)
    env = worker["Environment"]["Variables"]
    budget = float(env["MJ_PROVIDER_STEP_BUDGET_SECONDS"])
    call = float(env["MJ_PROVIDER_TIMEOUT_SECONDS"])
    assert call < budget and budget + 60 <= worker["Timeout"] == 360
    assert template.number(worker["MemorySize"]) == 512
    [event] = worker["Events"].values()
    assert event["Properties"]["BatchSize"] == 1
    visibility = template.resources["JobsQueue"]["Properties"]["VisibilityTimeout"]
    assert visibility > worker["Timeout"]
    # The step budget's own default agrees with the template.
    budget_field = {f.name: f for f in fields(StepConfig)}["step_budget_seconds"]
    assert budget_field.default == budget


def _walk(node):
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)
    elif hasattr(node, "value"):
        yield from _walk(node.value)


def test_bedrock_and_secret_permissions_are_scoped_and_conditional():
    template = _template()
    conditions = template.doc["Conditions"]
    assert {"UseBedrock", "HasOpenAISecret"} <= set(conditions)
    statements = []
    for name, res in template.of_type("AWS::Serverless::Function").items():
        for node in _walk(res["Properties"].get("Policies") or []):
            if isinstance(node, dict) and "Action" in node:
                statements.append((name, node))
    bedrock = [(n, s) for n, s in statements if "bedrock" in str(s["Action"])]
    secrets = [(n, s) for n, s in statements if s["Action"] == "secretsmanager:GetSecretValue"]
    assert [n for n, _ in bedrock] == list(WORKERS)
    statement = bedrock[0][1]
    assert bedrock[1][1] is statement  # one policy list (a YAML anchor), not a copy
    assert statement["Action"] == "bedrock:InvokeModel"
    text = repr(statement["Resource"])
    assert "*::foundation-model/*" not in text and "Resource': '*'" not in text
    for param in (
        "BedrockImageModelId",
        "BedrockImg2ImgModelId",
        "BedrockUpscaleFastModelId",
        "BedrockInpaintModelId",
        "BedrockRetextureModelId",  # /mj/submit/retexture
        "BedrockDescribeModelId",
        "BedrockDescribeFoundationModelId",
    ):
        assert param in text, param
    assert ("WorkerFunction", {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue"}) in [
        (n, {k: v for k, v in s.items() if k != "Resource"}) for n, s in secrets
    ]
    assert [n for n, s in secrets if "OpenAIApiKeySecretArn" in repr(s["Resource"])] == list(
        WORKERS
    )


def test_worker_memory_is_512_for_every_provider_unless_set():
    # A waiting worker is billed per GB for every waiting second (issue 17); its largest work
    # (a 4K upscale, ~263 MB peak: bench/worker_memory.py) fits in 512 MB, and CPU-bound work
    # costs the same GB-seconds at any size below one vCPU.
    template = _template()
    memory = _worker(template)["MemorySize"]
    by_provider = {p: template.number(memory, {"Provider": p}) for p in
                   ("local", "midjourney", "bedrock", "openai")}  # fmt: skip
    assert by_provider == {"local": 512, "midjourney": 512, "bedrock": 512, "openai": 512}
    assert template.number(memory, {"Provider": "openai", "WorkerMemorySize": "256"}) == 256


def test_the_waiting_worker_exists_for_the_providers_that_wait_in_the_worker():
    # bedrock and openai wait 8-40 s per grid on the generator's HTTP answer; the waiting worker
    # bills that at WaitWorkerMemorySize (a grid step peaks at ~120 MB: bench/worker_memory.py)
    # instead of the worker's 512 MB. Nothing else needs it, and its queue costs idle polling.
    template = _template()
    fn = template.resources["WaitWorkerFunction"]
    queue = template.resources["WaitJobsQueue"]
    assert fn["Condition"] == queue["Condition"] == "UseWaitWorker"
    on = {p: template.condition("UseWaitWorker", {"Provider": p}) for p in
          ("local", "midjourney", "bedrock", "openai")}  # fmt: skip
    assert on == {"local": False, "midjourney": False, "bedrock": True, "openai": True}
    assert not template.condition(
        "UseWaitWorker", {"Provider": "bedrock", "WaitWorkerMemorySize": "0"}
    )
    props = fn["Properties"]
    assert template.number(props["MemorySize"], {"Provider": "bedrock"}) == 256
    assert props["Handler"] == _worker(template)["Handler"]
    assert props["CodeUri"] == _worker(template)["CodeUri"]
    assert props["Timeout"] == _worker(template)["Timeout"]
    # The same environment: WAIT_JOBS_QUEUE_URL set only where the queue exists.
    env = props["Environment"]["Variables"]
    assert env is _worker(template)["Environment"]["Variables"]
    url = env["WAIT_JOBS_QUEUE_URL"]
    assert url.tag == "If" and url.value[0] == "UseWaitWorker" and url.value[2] == ""
    [event] = props["Events"].values()
    assert str(event["Properties"]["Queue"].value).startswith("WaitJobsQueue")
    assert event["Properties"]["BatchSize"] == 1
    # A job that exhausts its retries fails its task like any other job.
    dead = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
    assert str(dead.value).startswith("JobsDeadLetterQueue")
