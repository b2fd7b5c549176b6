"""The README's two commands: a runtime install runs the demo; the test tools are an extra."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_TOOLS = {"pytest", "pytest-asyncio", "hypothesis", "ruff", "mypy", "playwright"}


def name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


def test_the_runtime_dependencies_hold_no_test_tools() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not {name(r) for r in project["dependencies"]} & TEST_TOOLS
    assert {name(r) for r in project["optional-dependencies"]["test"]} >= TEST_TOOLS


def test_the_readme_installs_the_demo_without_the_test_tools() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    demo, tests = blocks[0], blocks[1]
    assert "pip install -c constraints.txt -e .\n" in demo and "[test]" not in demo
    assert "power-master run" in demo
    assert "pip install -c constraints.txt -e '.[test]'\n" in tests
    command = "python -m pytest && power-master test flows/ examples/"
    assert tests.splitlines()[-1] == command
    assert command in (ROOT / ".ci" / "run").read_text()
