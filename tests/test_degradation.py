"""The degradation experiment, its schedule and the signal-propagation probe."""

import pytest
import torch

from cnnbook.analysis import signal
from cnnbook.experiments import degradation
from cnnbook.models import create


@pytest.mark.slow
def test_tiny_run_records_curves_for_every_model_and_seed():
    setup = degradation.Setup(subset=64, batch_size=32, epochs=2, base_channels=2, image_size=8)
    result = degradation.run(["cifar_plain20", "cifar_resnet20"], seeds=(0, 1), setup=setup)
    assert result["steps_per_epoch"] == 2
    assert [(r["model"], r["seed"]) for r in result["runs"]] == [
        ("cifar_plain20", 0), ("cifar_resnet20", 0), ("cifar_plain20", 1), ("cifar_resnet20", 1),
    ]  # fmt: skip
    for r in result["runs"]:
        assert len(r["train_loss"]) == 2 and all(loss > 0 for loss in r["train_loss"])
        assert 0 <= r["val_acc"] <= 1
    rows = degradation.aggregate(result)
    assert [row["model"] for row in rows] == ["cifar_plain20", "cifar_resnet20"]
    for row in rows:
        final = [r["train_loss"][-1] for r in result["runs"] if r["model"] == row["model"]]
        assert row["seeds"] == 2 and final[0] != final[1]  # two seeds, two different runs
        assert (row["min"], row["max"]) == (min(final), max(final))
        assert row["final_train_loss"] == pytest.approx(sum(final) / 2)
    # Seeded: the same run twice gives the same curve.
    again = degradation.train_one(
        "cifar_resnet20", degradation.load_data(setup), setup, 0, base_channels=setup.base_channels
    )
    assert again["train_loss"] == result["runs"][1]["train_loss"]


def test_gradient_norms_cover_every_weighted_layer_in_order():
    torch.manual_seed(0)
    model = create("cifar_resnet20", base_channels=4)
    x, y = torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))
    norms = signal.gradient_norms(model, x, y)
    assert len(norms) == 20  # 19 convolutions + the classifier
    assert norms[0][0] == "conv1" and norms[-1][0] == "fc"
    assert all(n > 0 for _, n in norms)
    assert all(p.grad is None for p in model.parameters())  # cleaned up afterwards


def test_zero_init_residual_turns_blocks_into_identities():
    torch.manual_seed(0)
    model = create("cifar_resnet20", base_channels=4, zero_init_residual=True).eval()
    blocks = [b for stage in (model.layer1, model.layer2, model.layer3) for b in stage]
    x = torch.randn(2, 3, 8, 8)
    stds = signal.block_output_std(model, x, blocks)
    assert len(stds) == len(blocks)
    # Inside a stage every block passes its input through unchanged.
    assert stds[1] == pytest.approx(stds[0]) and stds[2] == pytest.approx(stds[0])
