"""The 3x3 arithmetic (checked against real layers) and the kernel-size experiment."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnbook import cli
from cnnbook.analysis.complexity import count_macs, count_params
from cnnbook.analysis.receptive_field import stack_receptive_field
from cnnbook.experiments import kernel_size as ks
from cnnbook.models import create
from cnnbook.results import RESULTS_DIR, check
from cnnbook.results.registry import KINDS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("c", [64, 128, 256, 512])
def test_the_paper_numbers(c):
    two, three = ks.stack_costs(2, c, 56), ks.stack_costs(3, c, 56)
    assert (two["small_params"], two["large_params"]) == (18 * c * c, 25 * c * c)
    assert (three["small_params"], three["large_params"]) == (27 * c * c, 49 * c * c)
    assert (two["receptive_field"], three["receptive_field"]) == (5, 7)
    assert (two["small_relus"], two["large_relus"], three["small_relus"]) == (2, 1, 3)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_arithmetic_agrees_with_real_layers(n):
    c, size = 16, 12
    row = ks.stack_costs(n, c, size)
    k = 2 * n + 1
    small = nn.Sequential(*[nn.Conv2d(c, c, 3, padding=1, bias=False) for _ in range(n)])
    large = nn.Sequential(nn.Conv2d(c, c, k, padding=k // 2, bias=False))
    assert count_params(small) == row["small_params"] and count_params(large) == row["large_params"]
    assert count_macs(small, (1, c, size, size)) == row["small_macs"]
    assert count_macs(large, (1, c, size, size)) == row["large_macs"]
    assert stack_receptive_field([3] * n) == stack_receptive_field([k]) == row["receptive_field"]


def test_general_formula_and_table():
    assert ks.general_formula(2)["ratio"] == 18 / 25
    assert ks.general_formula(3)["ratio"] == 27 / 49
    assert (ks.general_formula(4)["small_coeff"], ks.general_formula(4)["large_coeff"]) == (36, 81)
    rows = ks.arithmetic()
    assert len(rows) == 8 and {r["channels"] for r in rows} == {64, 128, 256, 512}
    with pytest.raises(ValueError):
        ks.stack_costs(0, 8, 8)


@pytest.mark.parametrize("variant", list(ks.NETWORKS))
def test_training_estimate_agrees_with_counted_training_flops(variant):
    # torch's FLOP counter counts the backward pass itself (the gradients of
    # inputs and weights), independently of the "3 forward passes" rule; the
    # rule may overestimate a little (the first layer needs no input gradient).
    cfg = ks.Config(epochs=2)
    net = create(ks.NETWORKS[variant], num_classes=3, in_channels=1, widths=(4, 8, 8, 8))
    with FlopCounterMode(display=False) as counter:
        net(torch.randn(4, 1, 16, 16)).sum().backward()
    macs_per_image = counter.get_total_flops() / 2 / 4  # a multiply-add is two FLOPs
    counted = macs_per_image * 100 * cfg.epochs / 1e9
    estimate = ks.training_estimate(cfg, 100, count_macs(net, (1, 1, 16, 16)), 1e9)
    assert counted <= estimate <= 1.15 * counted


@pytest.fixture(scope="module")
def tiny():
    cfg = ks.Config(seeds=(0, 1), widths=(4, 8, 8, 8), epochs=1, subset=96, erf_images=8)
    return cfg, ks.run(cfg, log=None)


@pytest.mark.slow
def test_run_reports_every_variant_and_seed(tiny):
    cfg, result = tiny
    assert [s["variant"] for s in result["summary"]] == list(ks.NETWORKS)
    assert len(result["runs"]) == len(ks.NETWORKS) * 2
    json.dumps(result)  # plain data only
    for s in result["summary"]:
        net = create(s["model"], num_classes=3, in_channels=1, widths=cfg.widths)
        assert s["params"] == count_params(net)
        assert s["macs"] == count_macs(net, (1, 1, 16, 16))
        accs = [r["val_acc"] for r in result["runs"] if r["variant"] == s["variant"]]
        assert s["acc_min"] == min(accs) and s["acc_max"] == max(accs)
        assert s["acc_mean"] == pytest.approx(sum(accs) / len(accs))
        assert s["acc_min"] >= 0 and s["acc_max"] <= 1
        assert s["seconds_per_epoch"] > 0
    for label, maps in result["erf"].items():
        for when in ("init", "trained"):
            m = torch.tensor(maps[when])
            assert m.shape == (16, 16) and float(m.sum()) == pytest.approx(1.0)
            # The first stage sees 5x5 pixels whichever way it is built.
            assert int((m > 0).sum()) == 25, label


@pytest.mark.slow
def test_run_is_reproducible(tiny):
    cfg, result = tiny
    again = ks.run(dataclasses.replace(cfg, seeds=(1,), variants=("1 x 5x5",)), log=None)
    first = next(r for r in result["runs"] if r["variant"] == "1 x 5x5" and r["seed"] == 1)
    assert again["runs"][0]["val_acc"] == first["val_acc"]
    assert again["runs"][0]["val_loss"] == first["val_loss"]


def test_run_rejects_bad_config():
    with pytest.raises(ValueError, match="unknown variant"):
        ks.run(ks.Config(variants=("9x9",)), bundle=object())
    with pytest.raises(ValueError, match="seed"):
        ks.run(ks.Config(seeds=()), bundle=object())


def _example():
    spec = importlib.util.spec_from_file_location(
        "kse", ROOT / "examples" / "kernel_size_experiment.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_example_writes_results_and_plot(tmp_path, capsys):
    out, png = tmp_path / "r" / "k.json", tmp_path / "k.png"
    args = ["--seeds", "0", "--epochs", "1", "--subset", "64", "--widths", "4", "4", "4", "4"]
    assert _example().main([*args, "--out", str(out), "--plot", str(png)]) == 0
    result = json.loads(out.read_text())
    assert len(result["runs"]) == len(ks.NETWORKS) and png.stat().st_size > 0
    assert [p.name for p in tmp_path.rglob("*tmp*")] == []
    out = capsys.readouterr().out
    assert "1 x 5x5, matched params" in out and "1 x 5x5, matched MACs" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "--epochs must be a positive number"),
        (["--device", "cuda:7"], "cuda:7"),
        (["--data", "no-such-data"], "unknown dataset"),
        (["--widths", "0"], "--widths must be positive"),
    ],
)
def test_example_bad_input_is_one_sentence(args, message, capsys):
    assert _example().main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_cifar_preset_is_vgg_net_b_widths():
    cfg = ks.preset("cifar10")
    assert cfg.widths == (64, 128, 256, 512, 512) and cfg.subset is None
    assert ks.preset("textures").data == "textures"


def test_example_full_flag_is_the_recorded_scale():
    example = _example()
    cfg = example.make_config(example.parse_args(["--full"]))
    assert ks.setup_of(cfg) == ks.setup_of(ks.RECORDED) and cfg.seeds == ks.RECORDED.seeds
    # a budget flag still shortens it (CI runs the documented command that way)
    assert example.make_config(example.parse_args(["--full", "--epochs", "1"])).epochs == 1


# --------------------------------------------------------------------------- reading


def test_costs_are_the_built_models_counts():
    cfg = ks.Config(widths=(4, 8, 16, 16))
    rows = ks.costs(cfg, in_channels=1, num_classes=3, image_size=16)
    assert [r["variant"] for r in rows] == list(ks.NETWORKS)
    for r in rows:
        net = ks.build(cfg, r["variant"], 1, 3)
        assert r["params"] == count_params(net)
        assert r["macs"] == count_macs(net, (1, 1, 16, 16))
        assert r["convs"] == sum(isinstance(m, nn.Conv2d) for m in net.modules())
        assert r["activations"] == sum(s["activations"] for s in r["stages"])
    by = {r["variant"]: r for r in rows}
    # the stack writes every value twice per stage, the single 5x5 once
    assert by["2 x 3x3"]["activations"] == 2 * by["1 x 5x5"]["activations"]


def test_cpu_time_is_measured_for_every_variant_on_the_configured_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        cfg = ks.Config(widths=(2, 2, 2, 2), threads=1)
        times = ks.cpu_seconds_per_image(cfg, 1, 3, 16, batch=4, steps=1, rounds=2)
        assert torch.get_num_threads() == 2  # the caller's setting comes back
    finally:
        torch.set_num_threads(before)
    assert list(times) == list(ks.NETWORKS) and all(0 < t < 1 for t in times.values())


def _rows(errors: dict[str, list[float]]) -> list[dict]:
    return [
        {"variant": v, "seed": seed, "final_val_error": e}
        for v, es in errors.items()
        for seed, e in enumerate(es)
    ][::-1]  # stored order must not matter


def test_paired_differences_are_seed_by_seed():
    rows = _rows({"2 x 3x3": [0.10, 0.20, 0.30, 0.40], "1 x 5x5": [0.15, 0.20, 0.25, 0.50]})
    (p,) = ks.paired(rows)
    assert p["variant"] == "1 x 5x5" and p["seeds"] == [0, 1, 2, 3]
    assert p["diffs"] == pytest.approx([0.05, 0.0, -0.05, 0.10])
    assert (p["ahead"], p["behind"], p["ties"]) == (2, 1, 1)
    assert p["mean"] == pytest.approx(0.025) and p["sd"] == pytest.approx(0.0645497, rel=1e-5)
    # the paired t-test on these differences (t = 0.775 with 3 degrees of freedom)
    assert p["p"] == pytest.approx(0.4950, abs=1e-4)


def test_paired_has_no_p_value_without_spread():
    rows = _rows({"2 x 3x3": [0.1, 0.2], "1 x 5x5": [0.2, 0.3]})
    (p,) = ks.paired(rows)
    assert p["ahead"] == 2 and p["p"] is None


# --------------------------------------------------------------------------- recorded run


def test_a_stopped_run_takes_exactly_the_first_steps_of_the_full_run():
    # The schedule spans the full run even when it stops early, so a replay
    # (and the page's live check) reproduces the recorded curve's first point.
    cfg = ks.Config(widths=(2, 2, 2, 2), epochs=3, subset=64, batch_size=32, erf_images=4)
    bundle = ks.load_data(cfg)
    full = ks.train_variant(cfg, bundle, "1 x 5x5", seed=1)["history"]
    first = ks.train_variant(cfg, bundle, "1 x 5x5", seed=1, max_steps=2)["history"]
    assert len(first.epochs) == 1
    assert first.epochs[0]["train_loss"] == full.epochs[0]["train_loss"]
    assert first.epochs[0]["val_loss"] == full.epochs[0]["val_loss"]


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dry") / "kernel_size-cpu.json"
    assert cli.main(["results", "record", "kernel_size", "--dry-run", "--out", str(out)]) == 0
    return out


DRY_KINDS = {
    "kernel_size": dataclasses.replace(KINDS["kernel_size"], setup=lambda: ks.setup_of(ks.DRY_RUN))
}


@pytest.mark.slow
def test_the_dry_run_writes_a_file_that_passes_the_check(dry_run):
    result = json.loads(dry_run.read_text())
    assert result["command"].startswith("cnnbook results record kernel_size --device cpu")
    assert len(result["rows"]) == len(ks.NETWORKS) * 3  # every variant, every seed
    assert set(result["erf"]) == set(ks.NETWORKS)
    assert check.check_file(dry_run, DRY_KINDS) == []
    # a dry run is not the recorded scale: against today's code it is named
    assert any("setup differs" in p for p in check.check_file(dry_run))


@pytest.mark.slow
def test_an_edited_first_point_is_caught_by_the_replay(dry_run, tmp_path):
    result = json.loads(dry_run.read_text())
    result["rows"][0]["val_error"][0] -= 0.05
    result["rows"][0]["final_val_error"] = result["rows"][0]["val_error"][-1]
    edited = tmp_path / "kernel_size-cpu.json"
    edited.write_text(json.dumps(result))
    (problem,) = check.check_file(edited, DRY_KINDS)
    assert "replaying kernelnet_3x3 seed 0 gives val_error" in problem


@pytest.mark.slow
def test_the_stored_run_passes_the_check_with_enough_seeds():
    path = RESULTS_DIR / "kernel_size-cpu.json"
    assert path.is_file(), "the Why 3x3 page shows docs/results/kernel_size-cpu.json"
    assert check.check_file(path) == []
    rows = json.loads(path.read_text())["rows"]
    seeds = {v: {r["seed"] for r in rows if r["variant"] == v} for v in ks.NETWORKS}
    # every variant has the same seeds, enough of them to compare seed by seed
    assert len(set(map(frozenset, seeds.values()))) == 1 and len(seeds[ks.REFERENCE]) >= 5
