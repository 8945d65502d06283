"""Checkpoints: contents, weights_only loading, atomic writes, exact resume, refusals."""

from __future__ import annotations

import json

import pytest
import torch

from cnnbook import data, engine
from cnnbook.engine import checkpoint


def _run(model_fn, data_fn, out, epochs, **kw):
    train, val = data_fn(augment=data.BatchAugment(hflip=True, pad=1))
    model = model_fn(dropout=0.2)
    h = engine.fit(model, train, val, epochs=epochs, batch_size=16, lr=0.05, seed=3,
                   out_dir=out, log=False, **kw)  # fmt: skip
    return h, model


def test_checkpoint_files_and_contents(tmp_path, engine_tiny_model, engine_tiny_data):
    h, model = _run(engine_tiny_model, engine_tiny_data, tmp_path, 3, config={"note": "x"})
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    for key in ("model", "optimizer", "scheduler", "epoch", "step", "history", "rng", "config"):
        assert key in last
    assert last["epoch"] == 3 and last["step"] == 3 * 6
    assert last["config"]["note"] == "x" and last["config"]["lr"] == 0.05
    assert all(torch.equal(last["model"][k], v) for k, v in model.state_dict().items())
    # best.pt is the epoch with the best validation accuracy, not the last one
    assert best["epoch"] == h.best_epoch
    assert best["history"]["epochs"][-1]["val_acc"] == h.best_val_acc
    assert engine.History.from_dict(last["history"]).without_timing() == h.without_timing()
    assert (tmp_path / "history.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_resume_gives_the_uninterrupted_history(tmp_path, engine_tiny_model, engine_tiny_data):
    full, full_model = _run(engine_tiny_model, engine_tiny_data, tmp_path / "a", 4)
    _run(engine_tiny_model, engine_tiny_data, tmp_path / "b", 2)
    # a fresh model object (different init seed): everything must come from last.pt
    train, val = engine_tiny_data(augment=data.BatchAugment(hflip=True, pad=1))
    model = engine_tiny_model(dropout=0.2, seed=99)
    resumed = engine.fit(model, train, val, epochs=4, batch_size=16, lr=0.05, seed=3,
                         out_dir=tmp_path / "b", resume=True, log=False)  # fmt: skip
    assert resumed.without_timing() == full.without_timing()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in full_model.state_dict().items())


def test_fresh_run_refuses_to_overwrite(tmp_path, engine_tiny_model, engine_tiny_data):
    _run(engine_tiny_model, engine_tiny_data, tmp_path, 1)
    before = (tmp_path / "last.pt").read_bytes()
    with pytest.raises(engine.CheckpointError, match="already holds a checkpoint"):
        _run(engine_tiny_model, engine_tiny_data, tmp_path, 1)
    assert (tmp_path / "last.pt").read_bytes() == before


def test_resume_refusals_leave_files_untouched(tmp_path, engine_tiny_model, engine_tiny_data):
    train, val = engine_tiny_data()
    with pytest.raises(engine.CheckpointError, match="no checkpoint"):
        engine.fit(
            engine_tiny_model(), train, val, out_dir=tmp_path / "none", resume=True, log=False
        )
    _run(engine_tiny_model, engine_tiny_data, tmp_path, 1, config={"model": "tiny"})
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(engine.CheckpointError, match="different model"):
        engine.fit(
            engine_tiny_model(num_classes=5), train, val, out_dir=tmp_path, resume=True, log=False
        )
    with pytest.raises(engine.CheckpointError, match="holds a 'tiny' model, not 'other'"):
        engine.fit(engine_tiny_model(dropout=0.2), train, val, out_dir=tmp_path, resume=True,
                   log=False, config={"model": "other"})  # fmt: skip
    (tmp_path / "last.pt").write_bytes(files["last.pt"][: len(files["last.pt"]) // 2])
    files["last.pt"] = (tmp_path / "last.pt").read_bytes()
    with pytest.raises(engine.CheckpointError, match="truncated or corrupt"):
        engine.fit(engine_tiny_model(), train, val, out_dir=tmp_path, resume=True, log=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


def test_atomic_save_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    checkpoint.atomic_save({"a": torch.ones(2)}, path)
    before = path.read_bytes()

    def broken_save(obj, fh):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        checkpoint.atomic_save({"a": torch.zeros(2)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_rng_state_round_trip():
    import random

    import numpy as np

    state = checkpoint.rng_state()
    a = (torch.rand(3), np.random.rand(), random.random())
    checkpoint.set_rng_state(state)
    b = (torch.rand(3), np.random.rand(), random.random())
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]


def test_load_rejects_foreign_files(tmp_path):
    torch.save({"weights": torch.ones(1)}, tmp_path / "plain.pt")
    with pytest.raises(engine.CheckpointError, match="not a cnnbook checkpoint"):
        checkpoint.load(tmp_path / "plain.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(engine.CheckpointError, match="not a readable checkpoint"):
        checkpoint.load(tmp_path / "text.pt")


def test_a_write_that_fails_halfway_leaves_the_old_file(tmp_path):
    path = tmp_path / "result.json"
    checkpoint.atomic_write_json({"acc": 0.5}, path)
    before = path.read_bytes()

    def half_then_crash(fh):
        fh.write('{"acc": 0.')  # half a file reaches the disk...
        raise OSError("disk full")  # ...then the write fails

    with pytest.raises(OSError, match="disk full"):
        checkpoint._atomic(path, "w", half_then_crash)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temp file left
    checkpoint.atomic_write_json({"acc": 0.75}, path)
    assert json.loads(path.read_text()) == {"acc": 0.75}
