"""examples/: automations in pure YAML, each with its flow tests, that load and pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from powermaster.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_examples_are_yaml_only() -> None:
    files = [p for p in EXAMPLES.rglob("*") if p.is_file()]
    assert files
    assert [p for p in files if p.suffix != ".yaml"] == []


def test_every_example_flow_has_its_tests() -> None:
    flows = {p.stem for p in EXAMPLES.glob("*.yaml") if not p.name.endswith(".test.yaml")}
    flows.discard("connections")
    tested = {p.name.removesuffix(".test.yaml") for p in EXAMPLES.glob("*.test.yaml")}
    assert len(flows) >= 8
    assert flows == tested


def test_the_examples_validate_and_their_tests_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES)]) == 0, capsys.readouterr().out
    assert main(["test", str(EXAMPLES)]) == 0, capsys.readouterr().out
