"""The slimming experiment: exact full-scale counts, true width names, the recorded run's
timing and reading, sane small-scale runs, a safe script."""

import copy
import dataclasses
import importlib.util
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from recorded_files import recorded_file

from cnnbook.analysis import complexity
from cnnbook.experiments import slimming
from cnnbook.experiments import slimming_reading as reading
from cnnbook.results import check
from cnnbook.results.registry import KINDS

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


@pytest.mark.parametrize(
    ("head", "width", "name"),
    [
        ("full", 1.0, "full head, full width"),
        ("slim", 1 / 16, "slim head, 1/16 width"),
        ("slim", 0.5 / 16, "slim head, 1/32 width"),
        ("gap", 1 / 8, "gap head, 1/8 width"),
    ],
)
def test_a_variant_is_named_by_its_true_fraction_of_vgg16(head, width, name):
    assert slimming.variant_name(head, width) == name


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
    # Labels name the width trained (a fraction of VGG-16's channels); the full-size
    # counts belong to the same head at VGG-16's width times the variant's.
    assert [r["variant"] for r in rows] == ["slim head, 1/32 width", "gap head, 1/64 width"]
    assert [r["full_size"] for r in rows] == ["slim head, full width", "gap head, 1/2 width"]
    assert [r["width"] for r in rows] == [1 / 32, 1 / 64]
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
    assert result["rows"][0]["variant"] == "gap head, 1/32 width"
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


# --------------------------------------------------------------------------- recorded run

TINY = dataclasses.replace(
    slimming.RECORDED, subset=64, base_width=1 / 64, epochs=1, latency_width=1 / 64,
    latency_image_size=32, latency_batches=(1, 3), latency_rounds=2,
)  # fmt: skip


def test_heads_are_timed_alternately_on_one_shared_trunk():
    timed = slimming.time_heads(TINY)
    rows = timed["rows"]
    assert [(r["head"], r["batch"]) for r in rows] == [
        (h, b) for b in (1, 3) for h in ("gap", "slim", "full")
    ]
    assert all(len(r["network_s"]) == len(r["head_s"]) == 2 for r in rows)  # warm-up dropped
    by_head = {r["head"]: r for r in rows if r["batch"] == 1}
    for head, r in by_head.items():
        direct = slimming.uninitialised("vgg16_slim", num_classes=3, head=head, width_mult=1 / 64)
        assert r["params"] == sum(p.numel() for p in direct.parameters())
        assert r["head_params"] == sum(p.numel() for p in direct.classifier.parameters())
    # The networks differ by exactly their heads.
    full, gap = by_head["full"], by_head["gap"]
    assert full["params"] - gap["params"] == full["head_params"] - gap["head_params"]
    assert timed["image_size"] == 32 and timed["width"] == 1 / 64


def _latency(rows):
    return {"latency": {"rows": rows}}


def _timing(head, batch, network_s, head_s, head_params=100_000_000):
    return {"head": head, "batch": batch, "params": 0, "head_params": head_params,
            "network_s": network_s, "head_s": head_s}  # fmt: skip


def test_latency_is_read_from_medians_and_says_when_the_head_dominates():
    rows = [
        _timing("full", 1, [0.1, 0.1, 9.0], [0.06, 0.06, 0.0]),  # one slow round: an outlier
        _timing("slim", 1, [0.05, 0.05, 0.05], [0.01, 0.01, 0.01], 1_000_000),
        _timing("full", 16, [1.0, 1.0, 1.0], [0.1, 0.1, 0.1]),
        _timing("slim", 16, [0.9, 0.9, 0.9], [0.02, 0.02, 0.02], 1_000_000),
    ]
    summary = {(r["head"], r["batch"]): r for r in reading.latency_summary(_latency(rows))}
    assert summary["full", 1]["network_ms"] == pytest.approx(100.0)
    assert summary["full", 1]["head_share"] == pytest.approx(0.6)
    assert summary["full", 16]["ms_per_image"] == pytest.approx(1000 / 16)
    at_one, at_many = reading.read_latency(_latency(rows))
    assert "(60.0%): it dominates" in at_one and "400 MB" in at_one
    assert "batch 16" in at_many and "falls to 10.0%" in at_many
    rows[0] = _timing("full", 1, [0.1] * 3, [0.02] * 3)
    assert "(20.0%): it does not dominate" in reading.read_latency(_latency(rows))[0]


def _accuracy_result(errors: dict[str, list[float]]) -> dict:
    setup = {"base_width": 1 / 8, "variants": [["gap", 1.0], ["slim", 1.0], ["full", 1.0]]}
    rows = [
        {
            "model": f"{head} head, 1/8 width",
            "seed": seed,
            "final_val_error": e,
            "final_train_error": e / 2,
        }
        for head, values in errors.items()
        for seed, e in reversed(list(enumerate(values)))  # stored out of seed order
    ]
    return {"setup": setup, "rows": rows}


def test_accuracy_is_compared_with_the_full_head_seed_by_seed():
    result = _accuracy_result(
        {"gap": [0.10, 0.30, 0.10], "slim": [0.205, 0.215, 0.225], "full": [0.20, 0.20, 0.20]}
    )
    gap, slim, full = reading.accuracy_summary(result)
    assert gap["seeds"] == [0, 1, 2] and gap["model"] == "gap head, 1/8 width"
    assert gap["mean"] == pytest.approx(0.5 / 3) and gap["min"] == 0.1 and gap["max"] == 0.3
    assert gap["minus_full"] == pytest.approx(-0.1 / 3)
    assert gap["train_mean"] == pytest.approx(0.25 / 3)
    assert gap["as_good"] == 2  # seeds 0 and 2 are below the full head, seed 1 above
    assert slim["as_good"] == 0 and full["as_good"] == 3
    gap_text, slim_text = reading.read_accuracy(result)
    # gap: -3.3 points against a spread of 11.5: nothing this run can see.
    assert gap_text.startswith("Gap head, 1/8 width: 16.7% validation error against 20.0%")
    assert "within the seed-to-seed spread" in gap_text and "2 of 3 seeds" in gap_text
    # slim: +1.5 points against a spread of 1.0 point (the full head never varies).
    assert "+1.5 points, higher, beyond the spread" in slim_text


def test_a_task_every_run_solves_is_read_as_one_that_cannot_separate_the_heads():
    result = _accuracy_result({"gap": [0.0] * 3, "slim": [0.0] * 3, "full": [0.0] * 3})
    (only,) = reading.read_accuracy(result)
    assert only.startswith("Every variant classified every validation patch correctly")
    result["rows"][0]["final_val_error"] = 0.01  # one patch wrong: a comparison again
    gap_text, slim_text = reading.read_accuracy(result)
    assert "(+0.3 points, within the seed-to-seed spread)" in gap_text
    assert "(+0.0 points, within the seed-to-seed spread)" in slim_text  # no spread, no gap
    assert "3 of 3 seeds" in slim_text


def test_build_time_spread_is_the_widest_seed_range_and_the_largest_gap_between_means():
    rows = [{"val_acc": [0.5, 0.8, 0.6], "acc_mean": 0.63},
            {"val_acc": [0.4, 0.45, 0.5], "acc_mean": 0.45}]  # fmt: skip
    widest, between = reading.seed_spread({"rows": rows})
    assert widest == pytest.approx(0.3) and between == pytest.approx(0.18)


@pytest.fixture(scope="module")
def tiny_record() -> dict:
    made = slimming.record(seeds=(0, 1), setup=TINY)
    return recorded_file("slimming", made, (0, 1))


def _check(result: dict, tmp_path) -> list[str]:
    kinds = {"slimming": dataclasses.replace(KINDS["slimming"], setup=lambda: result["setup"])}
    (tmp_path / "slimming-cpu.json").write_text(json.dumps(result))
    return check.check(tmp_path, kinds)


@pytest.mark.slow
def test_a_recorded_run_passes_the_check_and_an_edited_number_does_not(tiny_record, tmp_path):
    rows = tiny_record["rows"]
    assert [(r["model"], r["seed"]) for r in rows[:4]] == [
        ("gap head, 1/64 width", 0), ("slim head, 1/128 width", 0),
        ("slim head, 1/64 width", 0), ("full head, 1/64 width", 0),
    ]  # fmt: skip
    assert len(rows) == 8 and all(len(r["train_error"]) == 1 for r in rows)
    assert tiny_record["latency"]["rows"][0]["network_s"]
    assert _check(tiny_record, tmp_path) == []
    edited = copy.deepcopy(tiny_record)
    edited["rows"][0]["train_loss"][0] += 0.01
    (problem,) = _check(edited, tmp_path)
    assert "replaying gap head, 1/64 width seed 0 gives train_loss" in problem
    del edited["latency"]
    assert _check(edited, tmp_path) == ["slimming-cpu.json: missing field 'latency'"]


def test_the_recorded_setup_reads_back_from_json():
    stored = json.loads(json.dumps(dataclasses.asdict(slimming.RECORDED)))
    assert slimming.setup_from(stored) == slimming.RECORDED
