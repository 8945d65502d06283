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
    h, model = _run(engine_tiny_model, engine_tiny_data, tmp_path, 3, meta={"note": "x"})
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    for key in ("model", "optimizer", "scheduler", "epoch", "step", "history", "settings", "meta"):
        assert key in last
    assert "rng" not in last  # the loop reseeds every epoch: see the test with scrambled RNGs
    assert last["epoch"] == 3 and last["step"] == 3 * 6
    assert last["meta"] == {"note": "x"} and last["settings"]["lr"] == 0.05
    assert all(torch.equal(last["model"][k], v) for k, v in model.state_dict().items())
    # best.pt is the epoch with the best validation accuracy, not the last one
    assert best["epoch"] == h.best_epoch
    assert best["history"]["epochs"][-1]["val_acc"] == h.best_val_acc
    assert engine.History.from_dict(last["history"]).without_timing() == h.without_timing()
    assert json.loads((tmp_path / "history.json").read_text()) == last["history"]
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
    _run(engine_tiny_model, engine_tiny_data, tmp_path, 1, meta={"model": "tiny"})
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(engine.CheckpointError, match="different model"):
        engine.fit(
            engine_tiny_model(num_classes=5), train, val, out_dir=tmp_path, resume=True, log=False
        )
    with pytest.raises(engine.CheckpointError, match="holds a 'tiny' model, not 'other'"):
        engine.fit(engine_tiny_model(dropout=0.2), train, val, out_dir=tmp_path, resume=True,
                   log=False, meta={"model": "other"})  # fmt: skip
    (tmp_path / "last.pt").write_bytes(files["last.pt"][: len(files["last.pt"]) // 2])
    files["last.pt"] = (tmp_path / "last.pt").read_bytes()
    with pytest.raises(engine.CheckpointError, match="truncated or corrupt"):
        engine.fit(engine_tiny_model(), train, val, out_dir=tmp_path, resume=True, log=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


def test_load_rejects_foreign_files(tmp_path):
    torch.save({"weights": torch.ones(1)}, tmp_path / "plain.pt")
    with pytest.raises(engine.CheckpointError, match="not a cnnbook checkpoint"):
        checkpoint.load(tmp_path / "plain.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(engine.CheckpointError, match="not a readable checkpoint"):
        checkpoint.load(tmp_path / "text.pt")


# --------------------------------------------------------------------------- interrupted runs

# 64 images at batch 16: 4 steps an epoch, 16 in all; the break comes after epoch 2 (step 8).
SCHEDULES = {
    "cosine": {"scheduler": "cosine"},
    # the milestone lies after the break: a resume that restarts the count moves it to step 18
    "multistep-after-the-break": {"scheduler": "multistep", "milestones": [10], "gamma": 0.1},
}


def _interrupted_then_resumed(model_fn, data_fn, out, scramble=None, **settings):
    """Train 4 epochs but stop after epoch 2 (as Ctrl-C would), then resume with a new model."""

    def stop_after_two(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    train, val = data_fn(n_train=64, augment=data.BatchAugment(hflip=True, pad=1))
    with pytest.raises(KeyboardInterrupt):
        engine.fit(model_fn(bn=True, dropout=0.2), train, val, out_dir=out,
                   on_epoch_end=stop_after_two, **settings)  # fmt: skip
    assert torch.load(out / "last.pt", weights_only=True)["epoch"] == 2
    if scramble is not None:
        scramble()
    model = model_fn(bn=True, dropout=0.2, seed=99)  # everything must come from last.pt
    history = engine.fit(model, train, val, out_dir=out, resume=True, **settings)
    return history, model


@pytest.mark.parametrize("schedule", list(SCHEDULES.values()), ids=list(SCHEDULES))
def test_resume_continues_the_learning_rate_curve(
    schedule, tmp_path, engine_tiny_model, engine_tiny_data
):
    settings = dict(epochs=4, batch_size=16, lr=0.05, seed=3, log=False, **schedule)
    train, val = engine_tiny_data(n_train=64, augment=data.BatchAugment(hflip=True, pad=1))
    full_model = engine_tiny_model(bn=True, dropout=0.2)
    full = engine.fit(full_model, train, val, **settings)
    resumed, model = _interrupted_then_resumed(
        engine_tiny_model, engine_tiny_data, tmp_path, **settings
    )
    assert resumed.column("lr") == full.column("lr")
    assert resumed.without_timing() == full.without_timing()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in full_model.state_dict().items())
    if schedule["scheduler"] == "multistep":  # rate of each epoch's last step: 3, 7, 11, 15
        assert full.column("lr") == pytest.approx([0.05, 0.05, 0.005, 0.005])


def test_resume_needs_no_saved_random_state(tmp_path, engine_tiny_model, engine_tiny_data):
    """Every epoch reseeds from (seed, epoch, rank), so scrambled global RNGs change nothing."""
    import random

    import numpy as np

    def scramble():
        torch.manual_seed(12345)
        np.random.seed(12345)
        random.seed(12345)
        torch.rand(100)

    settings = dict(epochs=4, batch_size=16, lr=0.05, seed=3, log=False)
    train, val = engine_tiny_data(n_train=64, augment=data.BatchAugment(hflip=True, pad=1))
    full_model = engine_tiny_model(bn=True, dropout=0.2)
    full = engine.fit(full_model, train, val, **settings)
    resumed, model = _interrupted_then_resumed(
        engine_tiny_model, engine_tiny_data, tmp_path, scramble=scramble, **settings
    )
    assert resumed.without_timing() == full.without_timing()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in full_model.state_dict().items())


def _as_version_1(state: dict) -> dict:
    """A checkpoint as cnnbook wrote it before "config" was split into settings and meta."""
    old = {k: v for k, v in state.items() if k not in ("settings", "meta")}
    old["version"] = 1
    old["config"] = {**state["settings"], **state["meta"]}
    kwargs = dict(old["config"].get("model_kwargs", {}))
    if "image_size" in kwargs:  # version 1 called a model's int side "input_size"
        kwargs["input_size"] = kwargs.pop("image_size")
        old["config"]["model_kwargs"] = kwargs
    old["rng"] = {"torch": torch.get_rng_state()}
    return old


def test_version_1_checkpoints_still_load_resume_and_predict(
    tmp_path, capsys, engine_tiny_model, engine_tiny_data
):
    from PIL import Image

    from cnnbook import cli, models

    # load_model and `cnnbook predict` on a registered model saved in the old layout
    meta = {
        "model": "vgg_mini",
        "model_kwargs": {"num_classes": 3, "in_channels": 3, "image_size": 16},
        "data": {"classes": ["a", "b", "c"], "in_channels": 3, "image_size": 16,
                 "mean": [0.5] * 3, "std": [0.25] * 3},
    }  # fmt: skip
    net = models.create("vgg_mini", **meta["model_kwargs"])
    state = checkpoint.make_state(
        model=net, optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
        scheduler=_Stub(), epoch=1, step=1, best_val_acc=0.5,
        history=engine.History(), world_size=1, settings={"lr": 0.1}, meta=meta,
    )  # fmt: skip
    torch.save(_as_version_1(state), tmp_path / "old.pt")
    model, loaded_meta = engine.load_model(tmp_path / "old.pt")
    assert loaded_meta["model"] == "vgg_mini" and loaded_meta["data"]["classes"] == ["a", "b", "c"]
    assert all(torch.equal(model.state_dict()[k], v) for k, v in net.state_dict().items())
    assert not model.training
    Image.new("RGB", (20, 20), (200, 10, 10)).save(tmp_path / "x.png")
    code = cli.main(["predict", "--checkpoint", str(tmp_path / "old.pt"), str(tmp_path / "x.png")])
    assert code == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'x.png'}: ")

    # a run saved in the old layout resumes, and its model name is still checked
    _run(engine_tiny_model, engine_tiny_data, tmp_path / "run", 1, meta={"model": "tiny"})
    last = tmp_path / "run" / "last.pt"
    torch.save(_as_version_1(torch.load(last, weights_only=True)), last)
    with pytest.raises(engine.CheckpointError, match="holds a 'tiny' model, not 'other'"):
        _run(engine_tiny_model, engine_tiny_data, tmp_path / "run", 2, resume=True,
             meta={"model": "other"})  # fmt: skip
    h, _ = _run(engine_tiny_model, engine_tiny_data, tmp_path / "run", 2, resume=True,
                meta={"model": "tiny"})  # fmt: skip
    assert [r["epoch"] for r in h.epochs] == [1, 2]
    assert torch.load(last, weights_only=True)["version"] == checkpoint.VERSION


class _Stub:
    def state_dict(self):
        return {}


def test_open_run_is_the_one_resume_or_refuse_rule(tmp_path, engine_tiny_model, engine_tiny_data):
    assert checkpoint.open_run(None) is None
    assert checkpoint.open_run(tmp_path / "new") is None  # a fresh directory: start
    with pytest.raises(engine.CheckpointError, match="cannot resume: there is no checkpoint"):
        checkpoint.open_run(tmp_path / "new", resume=True)
    _run(engine_tiny_model, engine_tiny_data, tmp_path, 1, meta={"model": "tiny"})
    with pytest.raises(engine.CheckpointError, match="already holds a checkpoint; pass --resume"):
        checkpoint.open_run(tmp_path)
    assert checkpoint.open_run(tmp_path, overwrite=True) is None
    state = checkpoint.open_run(tmp_path, resume=True, model_name="tiny")
    assert state["epoch"] == 1 and state["meta"] == {"model": "tiny"}
    with pytest.raises(engine.CheckpointError, match="holds a 'tiny' model, not 'vgg11'"):
        checkpoint.open_run(tmp_path, resume=True, model_name="vgg11")
    with pytest.raises(engine.CheckpointError, match="different model"):
        checkpoint.open_run(tmp_path, resume=True, model=engine_tiny_model(num_classes=7))
