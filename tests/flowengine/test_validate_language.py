"""Located errors of the flow language's checks: context keys without a writer, webhooks,
blueprints and !env; each message pinned with its FILE:LINE:COL."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowengine import InvalidFlows, load_flow_dir, load_flow_files
from tests.flowengine.helpers import registry


def write(folder: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    return paths


def problems(folder: Path, files: dict[str, str]) -> list[str]:
    write(folder, files)
    with pytest.raises(InvalidFlows) as caught:
        load_flow_dir(folder, registry())
    return [str(p).removeprefix(f"{folder}/") for p in caught.value.problems]


READER = """flow: reader
triggers: [{type: context, key: global.price_nwo}]
nodes:
  - id: check
    type: core.switch
    config: {rules: [{port: a, if: "flow.seen and global.other > 1"}]}
"""
WRITER = """flow: writer
nodes:
  - {id: keep, type: core.context_set, config: {key: global.price_now}}
"""


def test_a_key_read_with_no_writer_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    assert problems(tmp_path, {"reader.yaml": READER, "writer.yaml": WRITER}) == [
        "reader.yaml:2:33: global.price_nwo is read here, but no flow writes it; "
        "did you mean 'global.price_now'?",
        "reader.yaml:6:36: flow.seen is read here, but no node of flow 'reader' writes it",
        "reader.yaml:6:36: global.other is read here, but no flow writes it; if something "
        "outside the flows writes it, declare it under 'context:' in a flow file",
    ]


def test_keys_written_outside_are_declared_and_a_subset_is_not_checked(tmp_path: Path) -> None:
    declared = "context:\n  global.price_nwo: a script\n  global.other: the web API\n" + READER
    folder = tmp_path / "whole"
    files = write(folder, {"reader.yaml": declared.replace("flow.seen and ", "")})
    flowset = load_flow_dir(folder, registry())
    assert flowset.outside == {"price_nwo": "a script", "other": "the web API"}
    assert flowset.flows["reader"].reads == ("other", "price_nwo")
    # The same reader alone as a list of files (not a whole folder) is not checked.
    subset = write(tmp_path / "part", {"reader.yaml": READER})
    assert load_flow_files(subset, registry()).flows["reader"]
    assert files


def test_a_webhook_id_used_twice_is_refused(tmp_path: Path) -> None:
    hook = "triggers: [{type: webhook, webhook_id: arrive-home-0123456789}]\n"
    node = "nodes: [{id: a, type: core.passthrough}]\n"
    files = {"a.yaml": f"flow: a\n{hook}{node}", "b.yaml": f"flow: b\n{hook}{node}"}
    assert problems(tmp_path, files) == [
        "b.yaml:2:40: webhook id 'arrive-home-0123456789' is already used by flow 'a'",
    ]


def test_a_short_webhook_id_is_refused(tmp_path: Path) -> None:
    text = "flow: a\ntriggers: [{type: webhook, webhook_id: short}]\nnodes: []\n"
    assert problems(tmp_path, {"a.yaml": text}) == [
        "a.yaml:2:40: 'triggers.0.webhook_id' 'short' has the wrong form (expected to match "
        "^[A-Za-z0-9_-]{16,}$)",
    ]


BLUEPRINT = """blueprint:
  name: pass a value on
  input:
    target: {description: the node it goes to}
    label: {default: none}
nodes:
  - {id: first, type: core.passthrough, wires: [!input target]}
  - {id: second, type: core.passthrough}
"""


def test_blueprint_inputs_are_checked_where_they_are_given(tmp_path: Path) -> None:
    use = "flow: used\nuse_blueprint:\n  path: bp/pass.yaml\n  input: {labl: x}\n"
    assert problems(tmp_path, {"bp/pass.yaml": BLUEPRINT, "used.yaml": use}) == [
        "used.yaml:4:10: missing input 'target' (the node it goes to)",
        "used.yaml:4:11: unknown input 'labl'; did you mean 'label'?",
    ]


def test_a_problem_inside_a_blueprint_names_the_file_that_used_it(tmp_path: Path) -> None:
    use = "flow: used\nuse_blueprint:\n  path: bp/pass.yaml\n  input: {target: thrid}\n"
    found = problems(tmp_path, {"bp/pass.yaml": BLUEPRINT, "used.yaml": use})
    assert found == [
        "bp/pass.yaml:7:49: wire from 'first' goes to 'thrid', which is not a node in this "
        f"flow; known: first, second (used by {tmp_path}/used.yaml:2)",
    ]


def test_an_unset_environment_variable_is_refused(tmp_path: Path) -> None:
    text = "flow: a\nnodes:\n  - {id: a, type: core.set, config: {payload: !env PM_NOPE_X}}\n"
    assert problems(tmp_path, {"a.yaml": text}) == [
        "a.yaml:3:47: environment variable PM_NOPE_X is not set (write !env NAME:-default "
        "for a default)",
    ]


def test_env_values_and_defaults_are_read_as_yaml_scalars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PM_EV_POWER", "3000")
    text = (
        "flow: a\nnodes:\n  - {id: a, type: core.set, config: {payload: !env PM_EV_POWER}}\n"
        "  - {id: b, type: core.set, config: {payload: !env 'PM_NOPE_Y:-home/ev'}}\n"
    )
    write(tmp_path, {"a.yaml": text})
    nodes = load_flow_dir(tmp_path, registry()).flows["a"].nodes
    assert [n.config["payload"] for n in nodes] == [3000, "home/ev"]


def test_a_problem_with_the_using_files_own_keys_is_reported_there(tmp_path: Path) -> None:
    use = (
        "flow: used\nmode: sometimes\n"
        "use_blueprint:\n  path: bp/pass.yaml\n  input: {target: second}\n"
    )
    assert problems(tmp_path, {"bp/pass.yaml": BLUEPRINT, "used.yaml": use}) == [
        "used.yaml:2:7: 'mode' must be one of single, queued, restart, parallel, not 'sometimes'",
    ]
    header = "blueprint:\n  name: x\n  input: [target]\nnodes: []\n"
    use = "flow: used\nuse_blueprint: {path: bp/bad.yaml}\n"
    assert problems(tmp_path / "b", {"bp/bad.yaml": header, "used.yaml": use}) == [
        "bp/bad.yaml:3:10: a blueprint's input must be a mapping of input names to "
        "{description, default}",
    ]
