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

from cnnbook.analysis.complexity import count_macs, count_params
from cnnbook.analysis.receptive_field import stack_receptive_field
from cnnbook.experiments import kernel_size as ks
from cnnbook.models import create

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
    assert len(result["runs"]) == 3 * 2
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
    assert len(result["runs"]) == 3 and png.stat().st_size > 0
    assert [p.name for p in tmp_path.rglob("*tmp*")] == []
    assert "1 x 5x5, matched params" in capsys.readouterr().out


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
