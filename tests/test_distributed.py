"""Data-parallel training under torchrun (gloo, CPU): equal to one process, safe on faults.

Each launch starts two Python processes, so these tests are marked slow;
they still take seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from cnnbook import distributed, engine

ENV = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", CNNBOOK_DIST_TIMEOUT="30")

# Trains a BN-free and a BatchNorm model with the same global batch, and
# saves the weights (rank 0). Run plainly or under torchrun.
EQUALITY_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.distributed as dist
    from cnnbook import engine, models
    from cnnbook.data import TensorImageDataset

    def make(bn):
        torch.manual_seed(0)
        return models.create("tiny_cnn", num_classes=4, batch_norm=bn)

    g = torch.Generator().manual_seed(1)
    ds = TensorImageDataset(torch.randn(64, 3, 8, 8, generator=g), torch.randint(0, 4, (64,), generator=g))
    if "WORLD_SIZE" in os.environ:  # one process group for both fits
        dist.init_process_group("gloo")
    out = {}
    for bn in (False, True):
        model = make(bn)
        engine.fit(model, ds, ds, epochs=2, batch_size=16, lr=0.1, weight_decay=1e-4, seed=3,
                   log=False, sync_bn=bn)
        out[str(bn)] = {k: v.tolist() for k, v in model.state_dict().items()}
    if int(os.environ.get("RANK", 0)) == 0:
        json.dump(out, open(sys.argv[1], "w"))
    if dist.is_initialized():
        dist.destroy_process_group()
    """
)

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def _weights(path: Path) -> dict:
    return {
        bn: {k: torch.tensor(v) for k, v in d.items()}
        for bn, d in json.loads(path.read_text()).items()
    }


@pytest.mark.slow
def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path):
    script = tmp_path / "eq.py"
    script.write_text(EQUALITY_SCRIPT)
    one = subprocess.run([sys.executable, str(script), str(tmp_path / "one.json")], env=ENV,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert one.returncode == 0, one.stderr
    two = subprocess.run([*TORCHRUN, str(script), str(tmp_path / "two.json")], env=ENV,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = _weights(tmp_path / "one.json"), _weights(tmp_path / "two.json")
    start = {k: v for k, v in _initial(bn=True).items()}
    for bn in ("False", "True"):
        for k in a[bn]:
            assert torch.allclose(a[bn][k].float(), b[bn][k].float(), rtol=1e-5, atol=1e-6), (bn, k)
    # training moved the weights (the comparison is not between two untouched models)
    assert not torch.allclose(a["True"]["0.weight"], start["0.weight"])
    # SyncBatchNorm's running statistics are those of the global batch
    assert torch.allclose(a["True"]["1.running_var"], b["True"]["1.running_var"], rtol=1e-5)


def _initial(bn: bool) -> dict:
    from cnnbook import models

    torch.manual_seed(0)
    return models.create("tiny_cnn", num_classes=4, batch_norm=bn).state_dict()


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


TRAIN = ["-m", "cnnbook", "train", "--data", "fake", "--subset", "256", "--batch-size", "32",
         "--device", "cpu", "--quiet"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds worker processes through /proc")
def test_sigkill_on_one_rank_ends_all_and_resume_on_one_process(tmp_path):
    out = tmp_path / "run"
    launcher = subprocess.Popen([*TORCHRUN, *TRAIN, "--epochs", "30", "--out", str(out)], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.time() + 120
    while not (out / "last.pt").exists() and launcher.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert (out / "last.pt").exists(), launcher.stderr.read() if launcher.poll() is not None else ""
    workers = _children(launcher.pid)
    assert len(workers) == 2
    os.kill(workers[-1], signal.SIGKILL)
    killed_at = time.time()
    code = launcher.wait(timeout=60)
    assert code != 0
    assert time.time() - killed_at < 60
    time.sleep(0.5)
    assert not [w for w in workers if Path(f"/proc/{w}").exists() and "zombie" not in _state(w)]
    saved = torch.load(out / "last.pt", weights_only=True)
    assert saved["world_size"] == 2 and 1 <= saved["epoch"] < 30

    # The 2-process checkpoint resumes in a single process.
    resumed = subprocess.run([sys.executable, *TRAIN, "--epochs", str(saved["epoch"] + 1),
                              "--out", str(out), "--resume"], env=ENV, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    rows = json.loads((out / "history.json").read_text())["epochs"]
    assert [r["epoch"] for r in rows] == list(range(1, saved["epoch"] + 2))
    assert rows[: saved["epoch"]] == saved["history"]["epochs"]


def _state(pid: int) -> str:
    try:
        return (
            (Path(f"/proc/{pid}") / "status").read_text().split("State:")[1].split("\n")[0].lower()
        )
    except (OSError, IndexError):
        return "gone"


@pytest.mark.slow
def test_ranks_with_different_settings_all_fail_with_one_sentence(tmp_path):
    script = tmp_path / "mismatch.py"
    script.write_text(textwrap.dedent(
        """
        import os, sys
        from cnnbook import cli
        lr = "0.1" if os.environ["RANK"] == "0" else "0.2"
        sys.exit(cli.main(["train", "--data", "fake", "--subset", "64", "--epochs", "1",
                           "--lr", lr, "--out", sys.argv[1], "--quiet"]))
        """
    ))  # fmt: skip
    proc = subprocess.run([*TORCHRUN, str(script), str(tmp_path / "out")], env=ENV,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode != 0
    assert proc.stderr.count("ranks disagree on the training configuration") == 1
    # torchrun itself reports the failed workers with its own traceback; ours print none
    frames = [ln for ln in proc.stderr.splitlines() if ln.strip().startswith("File ")]
    assert not [ln for ln in frames if "cnnbook" in ln and "site-packages/torch" not in ln]
    assert not (tmp_path / "out" / "last.pt").exists()


def test_global_batch_is_split_and_checked():
    ctx = distributed.Context(world_size=4, enabled=False)
    assert distributed.split_batch(128, ctx) == 32
    with pytest.raises(distributed.DistributedError, match="batch of zero"):
        distributed.split_batch(2, ctx)
    with pytest.raises(distributed.DistributedError, match="multiple of 4"):
        distributed.split_batch(130, ctx)


def test_single_process_context_is_a_no_op(monkeypatch):
    for var in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    ctx = distributed.setup(torch.device("cpu"))
    assert (ctx.enabled, ctx.rank, ctx.world_size, ctx.is_main) == (False, 0, 1, True)
    t = torch.ones(2)
    assert (
        torch.equal(ctx.all_reduce_sum(t), torch.ones(2)) and ctx.any(True) and not ctx.any(False)
    )


def test_missing_backend_is_one_sentence(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setattr(torch.distributed, "is_nccl_available", lambda: False)
    with pytest.raises(distributed.DistributedError, match="nccl backend is not available"):
        distributed.setup(torch.device("cpu"), backend="nccl")


def test_sync_batchnorm_conversion_keeps_state_and_matches_bn_on_one_process():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Sequential(nn.BatchNorm2d(4)))
    x = torch.randn(6, 3, 8, 8)
    ref = model(x)
    import copy

    synced = distributed.convert_sync_batchnorm(copy.deepcopy(model), torch.device("cpu"))
    assert type(synced[1]) is not nn.BatchNorm2d and isinstance(synced[2][0], nn.BatchNorm2d)
    assert synced.state_dict().keys() == model.state_dict().keys()
    assert torch.allclose(synced(x), ref)


def test_checkpoint_portability_of_unwrapped_state(engine_tiny_model, engine_tiny_data, tmp_path):
    """Checkpoints store the plain model's keys (no 'module.' prefix), whatever the world size."""
    train, val = engine_tiny_data()
    engine.fit(
        engine_tiny_model(), train, val, epochs=1, batch_size=16, out_dir=tmp_path, log=False
    )
    keys = torch.load(tmp_path / "last.pt", weights_only=True)["model"].keys()
    assert not [k for k in keys if k.startswith(("module.", "_orig_mod."))]
