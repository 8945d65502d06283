"""The slimming experiment: exact full-scale counts, sane small-scale runs, a safe script."""

import importlib.util
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnbook.analysis import complexity
from cnnbook.experiments import slimming

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "slimming_experiment.py"


def test_full_scale_counts_match_the_seed_and_a_direct_count():
    cache = {}
    full = slimming.full_scale_costs("full", 1.0, 3, True, cache)
    slim = slimming.full_scale_costs("slim", 1.0, 3, True, cache)
    assert full["params_224"] == 134_272_835
    assert slim["params_224"] == 40_668_995
    # The trunk + head split must give the same MACs as one whole-model count.
    direct = complexity.count_macs(
        slimming.uninitialised("vgg16_slim", num_classes=3), (1, 3, 224, 224)
    )
    assert slim["macs_224"] == direct
    # Only the heads differ, and a linear layer's MACs (weights and bias adds, as torchinfo
    # counts them) equal its parameters: the MACs differ exactly as the parameters do.
    assert full["macs_224"] - slim["macs_224"] == full["params_224"] - slim["params_224"]


def test_uninitialised_model_is_zeroed_and_in_eval_mode():
    m = slimming.uninitialised("vgg16_slim", num_classes=3, width_mult=1 / 16, batch_norm=True)
    assert not m.training
    assert all(torch.count_nonzero(p) == 0 for p in m.parameters())


def test_cpu_threads_restores_the_setting():
    before = torch.get_num_threads()
    with slimming.cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.slow
def test_small_run_reports_every_variant_and_seed():
    cfg = slimming.Config(seeds=(0, 1), steps=2, base_width=1 / 32, full_scale_macs=False)
    result = slimming.run(cfg, variants=(("slim", 1.0), ("gap", 0.5)))
    rows = result["rows"]
    assert [r["variant"] for r in rows] == ["slim head, width x1", "gap head, width x0.5"]
    assert result["data"]["classes"] == ["brick", "grass", "gravel"]
    for r in rows:
        assert len(r["val_acc"]) == 2 and all(0 <= a <= 1 for a in r["val_acc"])
        assert r["acc_mean"] == pytest.approx(statistics.fmean(r["val_acc"]))
        assert r["acc_std"] == pytest.approx(statistics.stdev(r["val_acc"]))
        assert r["latency_ms"] > 0 and r["params"] > 0 and r["macs"] > 0
        assert "macs_224" not in r
    assert rows[0]["params_224"] == 40_668_995
    # Half the width: the GAP head's trained model is far smaller than the slim one.
    assert rows[1]["params"] < rows[0]["params"] / 10


def script_module():
    """The example script imported as a module, so bad-input checks need no new process."""
    spec = importlib.util.spec_from_file_location("slimming_experiment", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(*args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_script_writes_json(tmp_path):
    out = tmp_path / "res" / "slim.json"
    proc = run_script("--steps", "1", "--seeds", "0", "--variants", "gap:0.5", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["rows"][0]["variant"] == "gap head, width x0.5"
    assert "gap:0.5" in result["command"] and result["runinfo"]["seed"] == "0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--variants", "tiny:1"], "unknown head 'tiny'"),
        (["--variants", "slim:0"], "must be positive"),
        (["--image-size", "16"], "at least 32"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--data", "no/such/folder"], "data directory no/such/folder does not exist"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(args, message, capsys):
    assert script_module().main(args) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
