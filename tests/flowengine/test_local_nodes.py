"""Node types of one's own in nodes/*.py beside the flows: loaded, refused with FILE:LINE,
reloaded; an installed package the service has not loaded yet says 'restart'."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowengine import InvalidFlows, default_registry, load_flow_dir, load_flow_text
from flowengine.local import fingerprint, with_local_types
from powermaster.cli import main
from powermaster.watch import WatchedFiles

DOUBLE = '''"""My own node: doubles the payload."""
from flowengine import Message, Node


class Double(Node):
    type_name = "mine.double"
    description = "Doubles the payload."

    def process(self, msg: Message) -> Message:
        msg.payload = msg.payload * 2
        return msg


NODE_TYPES = [Double]
'''
FLOW = "flow: f\nnodes:\n  - {id: d, type: mine.double, wires: [o]}\n  - {id: o, type: core.log}\n"
TESTS = "tests:\n  - name: doubles\n    input: {payload: 21}\n    expect: {nodes: {o: {got: 42}}}\n"


def folder(tmp_path: Path, module: str = DOUBLE) -> Path:
    (tmp_path / "nodes").mkdir()
    (tmp_path / "nodes" / "mine.py").write_text(module)
    (tmp_path / "f.yaml").write_text(FLOW)
    (tmp_path / "f.test.yaml").write_text(TESTS)
    return tmp_path


def test_a_local_type_validates_and_runs_in_flow_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = folder(tmp_path)
    assert main(["validate", str(flows)]) == 0, capsys.readouterr().out
    assert main(["test", str(flows)]) == 0, capsys.readouterr().out
    assert "PASS f.test.yaml: doubles" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("x = (\n", "nodes/mine.py:1:5: '(' was never closed"),
        (
            "import nothing_such_here\n",
            "nodes/mine.py:1:1: ModuleNotFoundError: No module named 'nothing_such_here'",
        ),
        (
            "TYPES = []\n",
            "nodes/mine.py:1:1: defines no NODE_TYPES list (the node classes it offers)",
        ),
        ("NODE_TYPES = [42]\n", "nodes/mine.py:1:1: NODE_TYPES holds 42, which is not a node type"),
        (
            DOUBLE.replace("mine.double", "core.log"),
            "nodes/mine.py:1:1: type 'core.log' is already installed; choose another name",
        ),
    ],
)
def test_a_file_that_does_not_load_is_refused_with_its_place(
    tmp_path: Path, module: str, message: str
) -> None:
    flows = folder(tmp_path, module)
    with pytest.raises(InvalidFlows) as caught:
        with_local_types(default_registry(), flows)
    assert [str(p) for p in caught.value.problems] == [f"{flows}/{message}"]


def test_an_edit_is_seen_and_loaded_afresh(tmp_path: Path) -> None:
    flows = folder(tmp_path)
    before = fingerprint(flows)
    first = with_local_types(default_registry(), flows).nodes["mine.double"]
    (flows / "nodes" / "mine.py").write_text(DOUBLE.replace("* 2", "* 3"))
    assert fingerprint(flows) != before
    second = with_local_types(default_registry(), flows).nodes["mine.double"]
    assert first is not second
    assert load_flow_dir(flows, with_local_types(default_registry(), flows)).flows["f"]
    watched = WatchedFiles(flows, flows / "site.yaml")
    assert watched.concerns(flows / "nodes" / "mine.py")
    assert not watched.concerns(flows / "nodes" / "notes.txt")


def test_an_unknown_type_says_restart_when_a_package_was_installed_since_start() -> None:
    registry = default_registry()
    registry.loaded_points.discard("flowengine.nodes:storm")  # as if installed after start
    text = "flow: f\nnodes:\n  - {id: s, type: storm.monitr}\n"
    with pytest.raises(InvalidFlows) as caught:
        load_flow_text(text, registry, "f.yaml")
    assert str(caught.value) == (
        "f.yaml:3:19: node type 'storm.monitr' is unknown; did you mean 'storm.monitor'? "
        "(node package storm was installed after the service started: restart it to load "
        "the package)"
    )
