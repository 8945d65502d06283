"""cnnbook.io: every writer goes through a temporary file and a rename, so the old file survives."""

from __future__ import annotations

import builtins
import io as std_io
import json
import os
import stat

import pytest
import torch

from cnnbook import io

WRITERS = {
    "bytes": lambda path, v: io.atomic_write_bytes(f"bytes {v}".encode(), path),
    "text": lambda path, v: io.atomic_write_text(f"text {v}", path),
    "json": lambda path, v: io.write_json({"value": v}, path),
    "torch": lambda path, v: io.atomic_save({"value": torch.full((3,), float(v))}, path),
}


def _writes(mode) -> bool:
    if isinstance(mode, int):  # os.open flags
        return bool(mode & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND))
    return any(c in str(mode) for c in "wax+")


@pytest.fixture
def spy(monkeypatch):
    """Record every path opened for writing and every rename, through any of Python's doors."""
    opened, renamed = [], []
    real_open, real_os_open, real_replace = builtins.open, os.open, os.replace

    def spy_open(file, mode="r", *args, **kwargs):
        if not isinstance(file, int) and _writes(mode):
            opened.append(os.path.abspath(file))
        return real_open(file, mode, *args, **kwargs)

    def spy_os_open(path, flags, *args, **kwargs):
        if _writes(flags):
            opened.append(os.path.abspath(path))
        return real_os_open(path, flags, *args, **kwargs)

    def spy_replace(src, dst, *args, **kwargs):
        renamed.append((os.path.abspath(src), os.path.abspath(dst)))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(std_io, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    monkeypatch.setattr(os, "replace", spy_replace)
    return opened, renamed


@pytest.mark.parametrize("kind", list(WRITERS))
def test_the_final_path_is_never_opened_for_writing(kind, tmp_path, spy):
    opened, renamed = spy
    path = tmp_path / "out" / "result.bin"  # a missing folder is made
    WRITERS[kind](path, 1)
    WRITERS[kind](path, 2)
    final = str(path.resolve())
    assert final not in opened, "the final file was written in place, not renamed into place"
    assert opened and all(os.path.dirname(p) == os.path.dirname(final) for p in opened)
    assert [dst for _, dst in renamed] == [final, final]
    assert sorted(p.name for p in path.parent.iterdir()) == ["result.bin"]


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_failed_rename_leaves_the_old_file_and_no_temp_file(kind, tmp_path, monkeypatch):
    path = tmp_path / "result.bin"
    WRITERS[kind](path, 1)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="rename failed"):
        WRITERS[kind](path, 2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["result.bin"]


def test_a_write_that_fails_halfway_leaves_the_old_file(tmp_path):
    path = tmp_path / "result.json"
    io.write_json({"acc": 0.5}, path)
    before = path.read_bytes()

    def half_then_crash(fh):
        fh.write('{"acc": 0.')  # half a file reaches the disk...
        raise OSError("disk full")  # ...then the write fails

    with pytest.raises(OSError, match="disk full"):
        io._atomic(path, "w", half_then_crash)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temp file left
    io.write_json({"acc": 0.75}, path)
    assert json.loads(path.read_text()) == {"acc": 0.75}


def test_atomic_save_keeps_the_old_file_when_torch_save_fails(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    io.atomic_save({"a": torch.ones(2)}, path)
    before = path.read_bytes()

    def broken_save(obj, fh):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        io.atomic_save({"a": torch.zeros(2)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_json_that_cannot_be_encoded_touches_nothing(tmp_path):
    path = tmp_path / "result.json"
    io.write_json({"acc": 0.5}, path)
    with pytest.raises(TypeError):
        io.write_json({"acc": object()}, path)
    assert json.loads(path.read_text()) == {"acc": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_a_written_file_gets_the_umask_permissions_not_private_ones(tmp_path):
    # mkstemp's temporary file is 0600; a result file must be readable like any other.
    old = os.umask(0o022)
    try:
        io.write_json({"a": 1}, tmp_path / "r.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644
