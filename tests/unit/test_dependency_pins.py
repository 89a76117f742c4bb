"""The Lambda layer (sam build) and the local venv (make install) run the same versions:
every layer requirement is pinned exactly, to the version constraints.txt pins."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)")


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = PIN.match(line)
        assert m, f"{path.name}: not an exact pin: {line}"
        out[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return out


LAYERS = ROOT / "layers" / "common" / "python"


@pytest.mark.parametrize("file", ["requirements.txt", "media-requirements.txt"])
def test_every_layer_dependency_is_pinned_to_the_constraints_version(file):
    layer = pins(LAYERS / file)
    venv = pins(ROOT / "constraints.txt")
    assert layer, "the layer has no requirements"
    for name, version in layer.items():
        assert venv.get(name) == version, (name, version, venv.get(name))


def test_the_media_layer_holds_pillow_and_pyav_and_the_common_layer_neither():
    # The API functions get the common layer alone (template.yaml MediaLayer).
    assert set(pins(LAYERS / "media-requirements.txt")) == {"av", "pillow"}
    assert not {"av", "pillow"} & set(pins(LAYERS / "requirements.txt"))


def test_the_project_dependencies_are_all_in_the_constraints():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    venv = pins(ROOT / "constraints.txt")
    names = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    for spec in names:
        name = re.sub(r"[-_.]+", "-", re.split(r"[\[<>=~!; ]", spec)[0]).lower()
        assert name in venv, name
