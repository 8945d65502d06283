"""Each pitfall demo shows its symptom with the bug and none with the fix."""

import math

import pytest
import torch
import torch.nn.functional as F

from cnnbook import pitfalls


def test_cross_entropy_floor_is_the_loss_of_a_perfect_probability_vector():
    perfect = torch.eye(10)[[3]]  # already a probability vector, fed to CrossEntropyLoss
    loss = F.cross_entropy(perfect, torch.tensor([3]))
    assert loss.item() == pytest.approx(pitfalls.cross_entropy_floor(10), rel=1e-6)
    assert pitfalls.cross_entropy_floor(10) == pytest.approx(math.log(1 + 9 / math.e))


@pytest.mark.slow
def test_softmax_before_cross_entropy():
    r = pitfalls.softmax_before_cross_entropy(epochs=2)
    buggy, fixed = r["buggy"], r["fixed"]
    assert min(buggy["train_loss"]) > r["loss_floor"]  # cannot go below log(1 + 9/e)
    assert fixed["train_loss"][-1] < r["loss_floor"]
    assert buggy["max_confidence"] <= r["confidence_cap"] + 1e-6 < fixed["max_confidence"]
    assert r["grad_norm"]["buggy"] < 0.5 * r["grad_norm"]["fixed"]
    assert buggy["val_acc"][0] < fixed["val_acc"][0]


def test_unpadded_convs_drift_and_break_at_32():
    r = pitfalls.unpadded_convs_shape_drift((224, 32))
    assert r[224]["buggy"]["sizes"] == r[224]["fixed"]["sizes"] == [112, 56, 28, 14, 7]
    assert r[224]["buggy"]["error"] is None  # at 224 the two mistakes cancel out
    assert r[32]["buggy"]["sizes"] == [16, 8, 4, 2]
    assert "Kernel size can't be greater than actual input size" in r[32]["buggy"]["error"]
    assert r[32]["fixed"] == {"sizes": [16, 8, 4, 2, 1], "error": None, "channels": 512}


def test_unpadded_trunk_keeps_smaller_maps_inside_each_block():
    trunk = pitfalls.seed_unpadded_trunk()
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        first_conv = trunk[0][0](x)
    assert first_conv.shape[-1] == 222  # the unpadded conv loses a pixel on each side


def test_view_on_32x32_fails_or_merges_the_batch():
    r = pitfalls.view_on_small_input((4, 49))
    assert r[4]["trunk_output"] == (4, 512, 1, 1)
    assert "invalid for input of size 2048" in r[4]["buggy_view_error"]
    assert r[49]["buggy_view"] == (1, 25088)  # 49 images became one row
    assert r[49]["buggy_logits"] == (1, 10)
    assert "batch_size (1) to match target batch_size (49)" in r[49]["buggy_loss_error"]
    assert r[4]["fixed_flatten"] == (4, 512) and r[49]["fixed_flatten"] == (49, 512)


@pytest.mark.slow
def test_augmentation_in_test_transform_makes_scores_random_and_lower():
    r = pitfalls.augmentation_in_test_transform(repeats=3)
    assert len(set(r["fixed"])) == 1
    assert len(set(r["buggy"])) > 1
    assert max(r["buggy"]) < r["fixed"][0]


@pytest.mark.slow
def test_saving_last_as_best_keeps_the_last_epoch():
    r = pitfalls.saving_last_as_best(epochs=4)
    assert r["wrong_file"] == pytest.approx(r["last_acc"])
    assert r["right_file"] == pytest.approx(r["best_acc"]) == pytest.approx(max(r["val_acc"]))
    assert r["val_acc"][r["best_epoch"] - 1] == r["best_acc"]


@pytest.mark.slow
def test_predict_with_training_transform_is_random():
    r = pitfalls.predict_with_training_transform(repeats=10)
    assert len(set(r["fixed"])) == 1
    assert r["fixed"][0][0] == r["label"]
    assert len({p for _, p in r["buggy"]}) > 1


def test_forward_inside_init():
    r = pitfalls.forward_inside_init()
    assert 'missing the required "forward" function' in r["buggy_error"]
    assert not r["buggy_defines_forward"] and r["fixed_defines_forward"]
    assert r["buggy_params"] == r["fixed_params"] > 0  # it builds fine; only calling fails
    assert r["fixed_output"] == (2, 16, 8, 8)


def test_batchnorm_sized_for_the_wrong_layer():
    r = pitfalls.batchnorm_wrong_size()
    hidden, visible = r["hidden"], r["visible"]
    assert hidden["error"] is None and hidden["output"] == (2, 256, 8, 8)
    assert hidden["static_check"] == []  # equal sizes: nothing to see
    assert "running_mean should contain 128 elements not 64" in visible["error"]
    assert visible["static_check"] == [
        "stage.4: BatchNorm2d(64) after a conv with 128 output channels"
    ]
    assert visible["fixed_output"] == (2, 256, 8, 8) and visible["fixed_static_check"] == []
