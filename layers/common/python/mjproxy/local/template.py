"""Read template.yaml the way the local runner needs it: functions with their routes, queue
bindings and schedules; tables, queues and buckets with their properties; and the environment
every function gets, with `!Ref`/`!GetAtt` resolved to local physical names."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class _Tag:
    def __init__(self, tag: str, value: Any) -> None:
        self.tag = tag
        self.value = value

    def __repr__(self) -> str:
        return f"{self.tag} {self.value!r}"


Tag = _Tag  # an intrinsic function (`!Ref`, `!If`, ...) as loaded, for callers that resolve one


class _Loader(yaml.SafeLoader):
    pass


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> _Tag:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return _Tag(suffix, value)


_Loader.add_multi_constructor("!", _tagged)


def load(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader)  # noqa: S506 - SafeLoader subclass


DEFAULT_ROUTE = "$default"  # what an HTTP API answers every request no route matches with


@dataclass
class Route:
    method: str
    path: str  # template path, e.g. /mj/task/{id}/fetch
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        self.regex = re.compile(f"^{pattern}$")

    @property
    def specificity(self) -> tuple[int, int]:
        """Literal routes win over parameterised ones, as in API Gateway."""
        return (self.path.count("{"), -len(self.path))


def route_for(
    functions: list[Function], method: str, path: str
) -> tuple[Route, Function, dict[str, str]] | None:
    """The route API Gateway picks for `method path` (most specific first; what none matches
    goes to the $default route, if the template has one), its function and path parameters."""
    candidates = []
    default = None
    for fn in functions:
        for route in fn.routes:
            if route.path == DEFAULT_ROUTE:
                default = (route, fn, {})
                continue
            m = route.regex.match(path.split("?")[0])
            if m and route.method == method:
                candidates.append((route.specificity, route.path, route, fn, m.groupdict()))
    if not candidates:
        return default
    _, _, route, fn, params = min(candidates, key=lambda c: (c[0], c[1]))
    return route, fn, params


@dataclass
class Function:
    name: str
    code_uri: Path
    handler: str
    routes: list[Route] = field(default_factory=list)
    queues: list[tuple[str, int]] = field(default_factory=list)  # (queue logical id, batch size)
    schedules: list[float] = field(default_factory=list)  # seconds between runs
    environment: dict[str, Any] = field(default_factory=dict)
    layers: list[str] = field(default_factory=list)  # logical ids: Globals' first, as SAM merges


_RATE = re.compile(r"rate\((\d+)\s+(second|minute|hour|day)s?\)")
_UNIT = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _ref(value: Any) -> str:
    """The logical id a `!Ref X` names (a plain string stays as it is: a layer's ARN)."""
    return str(value.value) if isinstance(value, _Tag) and value.tag == "Ref" else str(value)


def schedule_seconds(expression: str) -> float:
    m = _RATE.match(expression.strip())
    if not m:
        return 60.0
    return int(m.group(1)) * _UNIT[m.group(2)]


class Template:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.root = self.path.parent
        self.doc = load(self.path)
        self.resources: dict[str, dict[str, Any]] = self.doc.get("Resources", {})
        self.parameters: dict[str, dict[str, Any]] = self.doc.get("Parameters", {})
        self.physical: dict[str, str] = {}  # logical id -> name / URL, set by the runner
        self.arns: dict[str, str] = {}

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == kind}

    def functions(self) -> list[Function]:
        globals_env = (
            self.doc.get("Globals", {})
            .get("Function", {})
            .get("Environment", {})
            .get("Variables", {})
        )
        globals_layers = self.doc.get("Globals", {}).get("Function", {}).get("Layers", [])
        out = []
        for name, res in self.of_type("AWS::Serverless::Function").items():
            props = res.get("Properties", {})
            fn = Function(
                name=name,
                code_uri=self.root / str(props["CodeUri"]),
                handler=str(props.get("Handler", "app.lambda_handler")),
                environment={**globals_env, **props.get("Environment", {}).get("Variables", {})},
                layers=[_ref(x) for x in [*globals_layers, *props.get("Layers", [])]],
            )
            for event in (props.get("Events") or {}).values():
                eprops = event.get("Properties", {})
                if event.get("Type") in ("HttpApi", "Api"):
                    # An HttpApi event without a Path is the API's $default route.
                    path = str(eprops.get("Path") or DEFAULT_ROUTE)
                    fn.routes.append(Route(str(eprops.get("Method") or "ANY").upper(), path))
                elif event.get("Type") == "SQS":
                    queue = eprops["Queue"]
                    logical = (
                        queue.value[0]
                        if isinstance(queue.value, list)
                        else str(queue.value).split(".")[0]
                    )
                    fn.queues.append((logical, int(eprops.get("BatchSize", 10))))
                elif event.get("Type") == "Schedule":
                    fn.schedules.append(schedule_seconds(str(eprops["Schedule"])))
            out.append(fn)
        return out

    # ---- intrinsic resolution (the subset the template uses for environment values) ----
    def resolve(self, value: Any, overrides: dict[str, str] | None = None) -> str:
        overrides = overrides or {}
        if isinstance(value, _Tag):
            if value.tag == "Ref":
                ref = str(value.value)
                if ref in self.parameters:
                    if ref in overrides:
                        return overrides[ref]
                    return str(self.parameters[ref].get("Default", ""))
                if ref in self.physical:
                    return self.physical[ref]
                if ref == "AWS::Region":
                    return os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
                return ""
            if value.tag == "GetAtt":
                target = (
                    value.value if isinstance(value.value, list) else str(value.value).split(".")
                )
                return (
                    self.arns.get(target[0], "")
                    if target[1] == "Arn"
                    else self.physical.get(target[0], "")
                )
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    def number(self, value: Any, overrides: dict[str, str] | None = None) -> int:
        """A numeric property (MemorySize, Timeout) that may be a Ref or an !If on the
        template's Conditions, with parameters at their defaults unless overridden."""
        if isinstance(value, _Tag) and value.tag == "If":
            name, when_true, when_false = value.value
            chosen = when_true if self.condition(name, overrides) else when_false
            return self.number(chosen, overrides)
        return int(self.resolve(value, overrides))

    def condition(self, name: str, overrides: dict[str, str] | None = None) -> bool:
        """Evaluate one of the template's Conditions (Equals / Not / And / Or / Condition)."""
        return self._truth(self.doc.get("Conditions", {})[name], overrides)

    def _truth(self, node: Any, overrides: dict[str, str] | None) -> bool:
        if not isinstance(node, _Tag):
            raise ValueError(f"not a condition: {node!r}")
        args = node.value
        if node.tag == "Equals":
            return self.resolve(args[0], overrides) == self.resolve(args[1], overrides)
        if node.tag == "Not":
            return not self._truth(args[0], overrides)
        if node.tag == "And":
            return all(self._truth(a, overrides) for a in args)
        if node.tag == "Or":
            return any(self._truth(a, overrides) for a in args)
        if node.tag == "Condition":
            return self.condition(str(args), overrides)
        raise ValueError(f"unsupported condition function !{node.tag}")
