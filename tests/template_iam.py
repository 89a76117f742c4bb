"""Each function's effective IAM, read from the template as CloudFormation will see it: the
template is transformed offline with `samtranslator` (the library `sam validate` and CloudFormation
use), then every role's inline policies, managed policies and permissions boundary are flattened
into (action, resource) grants. `python -m tests.template_iam [template]` prints the table."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# The AWS managed policies SAM attaches, as AWS publishes them (IAM console, policy JSON).
AWS_MANAGED = {
    "AWSLambdaBasicExecutionRole": [
        ("logs:CreateLogGroup", "*"),
        ("logs:CreateLogStream", "*"),
        ("logs:PutLogEvents", "*"),
    ],
    "AWSXrayWriteOnlyAccess": [
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
        ("xray:GetSamplingRules", "*"),
        ("xray:GetSamplingTargets", "*"),
        ("xray:GetSamplingStatisticSummaries", "*"),
    ],
    "AWSLambdaSQSQueueExecutionRole": [
        ("sqs:ReceiveMessage", "*"),
        ("sqs:DeleteMessage", "*"),
        ("sqs:GetQueueAttributes", "*"),
        ("logs:CreateLogGroup", "*"),
        ("logs:CreateLogStream", "*"),
        ("logs:PutLogEvents", "*"),
    ],
}


@dataclass(frozen=True)
class Grant:
    action: str
    resource: str  # a logical id / parameter name, "<id>/<suffix>", or "*"
    when: str = ""  # the template condition(s) it depends on, "" = always


class _NoManagedPolicies:
    """samtranslator asks IAM for the managed policy map only to resolve policy *names*; the
    template names none, so an empty map keeps the transform offline."""

    def load(self) -> dict[str, str]:
        return {}


@cache
def transformed(path: str = str(ROOT / "template.yaml")) -> dict[str, Any]:
    from cfnlint.decode import decode
    from samtranslator.translator.transform import transform

    doc, errors = decode(path)
    if errors:
        raise ValueError(errors)
    doc = json.loads(json.dumps(doc, default=str))
    # The transform wants uploaded artifacts (what `sam package` writes), not local folders.
    for name, res in doc["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://artifacts/{name}.zip"
        elif res["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://artifacts/{name}.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(doc, {"AWS::Region": "us-east-1"}, _NoManagedPolicies())


def _name(value: Any) -> str:
    """A readable resource: `Ref X`/`GetAtt X.Arn` -> X, `Sub "${X.Arn}/index/*"` -> X/index/*."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return str(arg)
        if fn == "Fn::GetAtt":
            return str(arg[0] if isinstance(arg, list) else arg.split(".")[0])
        if fn == "Fn::Sub":
            text, names = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            for key, val in names.items():
                text = text.replace("${" + key + "}", _name(val))
            # arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:X -> X (same for
            # table/X, parameter/X and the S3 bucket ARNs).
            text = re.sub(
                r"^arn:\$\{AWS::Partition\}:[a-z0-9-]+:(\$\{AWS::Region\})?:"
                r"(\$\{AWS::AccountId\})?:((table|parameter)/)?",
                "",
                text,
            )
            return re.sub(r"\$\{([A-Za-z0-9]+)(\.Arn)?\}", r"\1", text)
    return json.dumps(value, sort_keys=True)


def _branches(value: Any, when: str = "") -> list[tuple[Any, str]]:
    """Both sides of a Fn::If (each tagged with its condition); NoValue dropped."""
    if isinstance(value, dict) and "Fn::If" in value:
        cond, yes, no = value["Fn::If"]
        return _branches(yes, _and(when, cond)) + _branches(no, _and(when, "!" + cond))
    if value == {"Ref": "AWS::NoValue"}:
        return []
    return [(value, when)]


def _and(a: str, b: str) -> str:
    return f"{a} & {b}" if a else b


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(document: dict[str, Any], when: str) -> list[tuple[dict[str, Any], str]]:
    out = []
    for item in _listed(document.get("Statement", [])):
        out.extend(_branches(item, when))
    return out


def _grants(statement: dict[str, Any], when: str) -> list[Grant]:
    if statement.get("Effect") != "Allow":
        return []
    resources = []
    for res in _listed(statement.get("Resource", "*")):
        resources.extend(_branches(res, when))
    return [
        Grant(action, _name(res), w)
        for action in _listed(statement["Action"])
        for res, w in resources
    ]


def _managed(doc: dict[str, Any], ref: Any, when: str) -> list[Grant]:
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return [Grant(a, r, when) for a, r in AWS_MANAGED[name]]
    resource = doc["Resources"][ref["Ref"]]
    out = []
    for statement, w in _statements(resource["Properties"]["PolicyDocument"], when):
        out.extend(_grants(statement, w))
    return out


def identity(doc: dict[str, Any], role: dict[str, Any]) -> list[Grant]:
    props = role["Properties"]
    out: list[Grant] = []
    for policy in props.get("Policies", []):
        for pol, when in _branches(policy):
            for statement, w in _statements(pol["PolicyDocument"], when):
                out.extend(_grants(statement, w))
    for arn in props.get("ManagedPolicyArns", []):
        for ref, when in _branches(arn):
            out.extend(_managed(doc, ref, when))
    return out


def _matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def bounded(doc: dict[str, Any], role: dict[str, Any], grants: list[Grant]) -> list[Grant]:
    """What is left of `grants` inside the role's permissions boundary: an action must be
    allowed by the boundary and not denied; a `*` resource under a Deny with NotResource
    shrinks to the resources the Deny spares."""
    ref = role["Properties"].get("PermissionsBoundary")
    if not ref:
        return grants
    statements = [
        s for s, _ in _statements(doc["Resources"][ref["Ref"]]["Properties"]["PolicyDocument"], "")
    ]
    out = []
    for grant in grants:
        if not any(
            s["Effect"] == "Allow" and any(_matches(p, grant.action) for p in _listed(s["Action"]))
            for s in statements
        ):
            continue
        resources = [grant.resource]
        for s in statements:
            if s["Effect"] != "Deny" or not any(
                _matches(p, grant.action) for p in _listed(s["Action"])
            ):
                continue
            if "NotResource" in s:
                spared = [
                    _name(r) for item in _listed(s["NotResource"]) for r, _ in _branches(item)
                ]
                resources = [
                    r for res in resources for r in (spared if res == "*" else [res]) if r in spared
                ]
            else:
                resources = []
        out.extend(Grant(grant.action, r, grant.when) for r in resources)
    return out


def effective(path: str = str(ROOT / "template.yaml")) -> dict[str, list[Grant]]:
    """Function logical id -> its effective grants (identity policies inside the boundary)."""
    doc = transformed(path)
    out = {}
    for name, res in doc["Resources"].items():
        if res["Type"] != "AWS::Lambda::Function":
            continue
        role_ref = res["Properties"]["Role"]["Fn::GetAtt"][0]
        role = doc["Resources"][role_ref]
        out[name] = sorted(
            set(bounded(doc, role, identity(doc, role))),
            key=lambda g: (g.action, g.resource, g.when),
        )
    return out


def consumed_queues(path: str = str(ROOT / "template.yaml")) -> dict[str, set[str]]:
    """Function logical id -> the queues its SQS event source mappings read."""
    doc = transformed(path)
    out: dict[str, set[str]] = {}
    for res in doc["Resources"].values():
        if res["Type"] == "AWS::Lambda::EventSourceMapping":
            props = res["Properties"]
            out.setdefault(props["FunctionName"]["Ref"], set()).add(_name(props["EventSourceArn"]))
    return out


def table(path: str = str(ROOT / "template.yaml")) -> str:
    """Markdown: one row per function, grants grouped by resource (logs/X-Ray left out)."""
    rows = ["| function | effective grants |", "|---|---|"]
    for fn, grants in effective(path).items():
        by_res: dict[tuple[str, str], list[str]] = {}
        for g in grants:
            if g.action.split(":")[0] in ("logs", "xray"):
                continue
            by_res.setdefault((g.resource, g.when), []).append(g.action)
        cells = []
        models = {w for (r, w), acts in by_res.items() if acts[0].startswith("bedrock:")}
        if models:
            by_res = {k: v for k, v in by_res.items() if not v[0].startswith("bedrock:")}
            cells.append("bedrock:InvokeModel on the configured model ARNs (if UseBedrock)")
        for (res, when), actions in sorted(by_res.items()):
            acts = ",".join(sorted({a.split(":", 1)[1] for a in actions}))
            svc = actions[0].split(":")[0]
            cells.append(f"{svc}:{acts} on {res}" + (f" (if {when})" if when else ""))
        rows.append(f"| {fn.removesuffix('Function')} | " + "<br>".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "template.yaml")))
