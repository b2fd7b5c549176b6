"""Files the engine writes are replaced whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowengine.atomic import write_atomic


def test_write_replaces_and_keeps_a_backup(tmp_path: Path) -> None:
    target = tmp_path / "flows" / "a.yaml"
    write_atomic(target, "one\n")
    write_atomic(target, "two\n", keep_backup=True)
    assert target.read_text() == "two\n"
    assert (tmp_path / "flows" / "a.yaml.bak").read_text() == "one\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.yaml", "a.yaml.bak"]


def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.yaml"
    write_atomic(target, "old\n")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr("flowengine.atomic.os.fsync", broken_fsync)
    with pytest.raises(OSError, match="disk gone"):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]


def test_keeping_a_backup_never_leaves_the_path_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.yaml"
    write_atomic(target, "one\n")
    there: list[bool] = []
    replace = os.replace

    def watched(src: str | Path, dst: str | Path) -> None:
        there.append(target.exists())  # a power cut now: is there a file to start from?
        replace(src, dst)

    monkeypatch.setattr("flowengine.atomic.os.replace", watched)
    write_atomic(target, "two\n", keep_backup=True)
    write_atomic(target, "three\n", keep_backup=True)
    assert there and all(there)
    assert target.read_text() == "three\n"
    assert (tmp_path / "a.yaml.bak").read_text() == "two\n"
