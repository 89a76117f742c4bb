"""template.yaml and the functions on disk agree; every function has an example event."""

from __future__ import annotations

from pathlib import Path

from mjproxy.local.template import Template

ROOT = Path(__file__).resolve().parents[2]


def test_every_function_in_the_template_exists_on_disk_and_vice_versa():
    template = Template(ROOT / "template.yaml")
    in_template = {fn.code_uri.resolve() for fn in template.functions()}
    on_disk = {
        p.resolve()
        for p in (ROOT / "functions").iterdir()
        if p.is_dir() and not p.name.startswith(("_", "."))
    }
    assert in_template == on_disk
    for fn in template.functions():
        module, _, _ = fn.handler.rpartition(".")
        assert (fn.code_uri / f"{module}.py").is_file(), fn.name


def test_every_function_has_an_example_event():
    for fn in Template(ROOT / "template.yaml").functions():
        assert (ROOT / "events" / f"{fn.code_uri.name}.json").is_file(), fn.code_uri.name


def test_every_api_route_is_also_served_under_the_speed_prefixes():
    for fn in Template(ROOT / "template.yaml").functions():
        paths = {r.path for r in fn.routes}
        for path in paths:
            if path.startswith("/mj/"):
                assert "/{mode}" + path in paths, (fn.name, path)


def test_sqs_workers_report_partial_batch_failures():
    template = Template(ROOT / "template.yaml")
    for name, res in template.of_type("AWS::Serverless::Function").items():
        for event in (res["Properties"].get("Events") or {}).values():
            if event["Type"] == "SQS":
                assert event["Properties"]["FunctionResponseTypes"] == [
                    "ReportBatchItemFailures"
                ], name


def test_sam_local_env_file_names_every_resource_the_functions_use():
    """events/env.json points `sam local` at the embedded moto server: it must name every
    table, queue and bucket the template passes to the functions, with the local runner's names."""
    import json

    from mjproxy.local.provision import physical_name

    template = Template(ROOT / "template.yaml")
    env = json.loads((ROOT / "events" / "env.json").read_text())["Parameters"]
    for fn in template.functions():
        for name, value in fn.environment.items():
            ref = getattr(value, "value", None) if getattr(value, "tag", None) == "Ref" else None
            resource = template.resources.get(str(ref)) if ref else None
            if not resource:
                continue
            assert name in env, name
            if resource["Type"] == "AWS::SecretsManager::Secret":
                # Not provisioned locally: blank, the plain variable carries a local value.
                assert env[name] == "", name
                continue
            expected = physical_name(str(ref))
            assert env[name].lower().endswith(expected.lower()), (name, env[name], expected)


def sam_local_environment(template: Template, env: dict, fn) -> dict[str, str]:
    """What `sam local invoke --env-vars events/env.json` gives a function (samcli
    local/lambdafn/env_vars.py): only the variables the template declares for it (Globals and
    its own), each overridden by the file's `Parameters` and then by its logical-id section;
    an unresolved intrinsic becomes ''. Keys the template does not declare are dropped."""
    overrides = {**env.get("Parameters", {}), **env.get(fn.name, {})}
    out = {}
    for name, value in fn.environment.items():
        if name in overrides:
            out[name] = str(overrides[name])
        elif getattr(value, "tag", None) == "Ref" and str(value.value) in template.parameters:
            out[name] = str(template.parameters[str(value.value)].get("Default", ""))
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            out[name] = str(value)
        else:
            out[name] = "true" if value is True else "false" if value is False else ""
    return out


def test_sam_local_applies_every_variable_of_the_env_file():
    """SAM silently drops an env.json key the template does not declare: the functions would
    then call real AWS instead of the local moto server."""
    import json

    template = Template(ROOT / "template.yaml")
    env = json.loads((ROOT / "events" / "env.json").read_text())
    endpoint = env["Parameters"]["AWS_ENDPOINT_URL"]
    assert endpoint.startswith("http://")
    applied: set[str] = set()
    for fn in template.functions():
        resolved = sam_local_environment(template, env, fn)
        assert resolved["AWS_ENDPOINT_URL"] == endpoint, fn.name
        for name, value in env["Parameters"].items():
            if name in resolved:
                assert resolved[name] == value, (fn.name, name)
                applied.add(name)
        # Every table, queue and bucket the function names points at the local server.
        for name, value in fn.environment.items():
            if getattr(value, "tag", None) not in ("Ref", "GetAtt"):
                continue
            target = value.value[0] if isinstance(value.value, list) else str(value.value)
            resource = template.resources.get(target.split(".")[0])
            if resource and resource["Type"] != "AWS::SecretsManager::Secret":
                assert resolved[name], (fn.name, name)
    assert applied == set(env["Parameters"]), set(env["Parameters"]) - applied


def test_on_aws_the_declared_endpoint_is_empty_so_boto3_uses_the_real_one():
    template = Template(ROOT / "template.yaml")
    globals_env = template.doc["Globals"]["Function"]["Environment"]["Variables"]
    assert globals_env["AWS_ENDPOINT_URL"] == ""
