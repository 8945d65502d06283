"""The small-data experiment: swing measures, the two starts, exact batch-norm statistics."""

from __future__ import annotations

import pytest
import torch

from cnnbook import data, engine, models
from cnnbook.experiments import small_data as sd

# The experiment's code at a scale of seconds: every step, tiny numbers.
TINY = sd.Setup(
    base_channels=4,
    image_size=8,
    train_images=12,
    epochs=3,
    last_epochs=2,
    pretrain_images=64,
    pretrain_epochs=1,
)


def test_swings_measure_range_step_and_largest_fall():
    s = sd.swings([0.1, 0.5, 0.75, 0.5, 0.625], last=4)
    assert s["range"] == pytest.approx(0.25)
    assert s["step"] == pytest.approx((0.25 + 0.25 + 0.125) / 3)
    assert s["drop"] == pytest.approx(0.25)
    assert sd.swings([0.2, 0.4, 0.6], last=3)["drop"] == 0.0  # never falls
    assert sd.swings([0.5], last=5) == {"range": 0.0, "step": 0.0, "drop": 0.0}


def test_summary_and_reading_compare_the_two_starts():
    curves = {
        ("from scratch", 0): [0.5, 0.75, 0.25, 0.75],
        ("from scratch", 1): [0.5, 0.5, 0.5, 0.5],
        ("pretrained", 0): [0.75, 0.75, 0.75, 1.0],
        ("pretrained", 1): [0.75, 0.75, 0.75, 0.75],
    }
    result = {
        "setup": {"last_epochs": 3},
        "n_val": 4,
        "runs": [{"start": k[0], "seed": k[1], "val_acc": v} for k, v in curves.items()],
    }
    scratch, tuned = sd.summary(result)
    assert (scratch["start"], tuned["start"]) == sd.STARTS
    assert scratch["range"] == pytest.approx(0.25)  # (0.5 + 0) / 2
    assert scratch["step"] == pytest.approx(0.25)  # (0.5 + 0.5) / 2 / 2
    assert scratch["drop"] == pytest.approx(0.5)
    assert (scratch["final"], scratch["final_min"], scratch["final_max"]) == (0.625, 0.5, 0.75)
    assert tuned["drop"] == 0.0 and tuned["final"] == pytest.approx(0.875)
    text = " ".join(sd.read_run(result))
    assert "25.0 points per epoch on average from scratch and 6.2 after pretraining" in text
    assert "(smaller)" in text and "one validation image is 25.0 points" in text
    assert "50.0 points from scratch and 0.0 after pretraining" in text


def test_exact_bn_statistics_replace_the_running_ones_on_a_copy():
    bundle = data.load("fake", size=48, image_size=8, num_classes=3)
    torch.manual_seed(0)
    model = models.create("cifar_resnet20", num_classes=3, base_channels=4)
    engine.fit(model, bundle.train, epochs=1, batch_size=8, log=False)
    honest = sd.exact_bn_acc(model, bundle)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    # Ruin the running statistics: the exact ones do not depend on them.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.add_(5.0)
            m.running_var.mul_(100.0)
    ruined = {k: v.clone() for k, v in model.state_dict().items()}
    assert sd.exact_bn_acc(model, bundle) == honest
    assert all(torch.equal(v, ruined[k]) for k, v in model.state_dict().items())  # a copy
    assert any(not torch.equal(v, before[k]) for k, v in ruined.items())


@pytest.mark.slow
def test_run_trains_both_starts_per_seed_reproducibly():
    result = sd.run(seeds=(0, 1), setup=TINY)
    assert [(r["start"], r["seed"]) for r in result["runs"]] == [
        ("from scratch", 0),
        ("from scratch", 1),
        ("pretrained", 0),
        ("pretrained", 1),
    ]
    n_val = result["n_val"]
    assert result["n_train"] == TINY.train_images
    for r in result["runs"]:
        assert len(r["val_acc"]) == TINY.epochs
        for acc in [*r["val_acc"], r["val_acc_exact_bn"]]:
            assert acc * n_val == pytest.approx(round(acc * n_val))  # whole images
    # Same seed, same start: the same curve (what the backbone does is tested below).
    bundle = sd.tiny_bundle(TINY)
    again = sd.train(bundle, TINY, seed=1)
    assert again["val_acc"] == result["runs"][1]["val_acc"]
    assert 0.0 <= result["pretrain_val_acc"] <= 1.0


def test_fine_tuning_starts_from_the_pretrained_backbone(monkeypatch):
    bundle = data.load("fake", size=32, image_size=8, num_classes=3)
    torch.manual_seed(5)
    source = models.create("cifar_resnet20", num_classes=10, in_channels=3, base_channels=4)
    started = {}
    real_fit = sd.engine.fit

    def spy(model, *args, **kwargs):
        started.update({k: v.clone() for k, v in model.state_dict().items()})
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(sd.engine, "fit", spy)
    setup = sd.Setup(base_channels=4, epochs=1)
    monkeypatch.setattr(sd, "_model", lambda s, n: models.create(
        "cifar_resnet20", num_classes=n, in_channels=3, base_channels=4
    ))  # fmt: skip
    sd.train(bundle, setup, seed=0, backbone=source.state_dict())
    for key, value in source.state_dict().items():
        if not key.startswith("fc."):
            assert torch.equal(started[key], value), key
    assert started["fc.weight"].shape == (3, 16)
