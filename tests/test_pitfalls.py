"""Each pitfall demo shows its symptom with the bug and none with the fix."""

import math

import pytest
import torch
import torch.nn.functional as F

from cnnbook import pitfalls


@pytest.mark.parametrize("k", [2, 3, 10, 1000])
def test_cross_entropy_floor_is_the_loss_of_a_perfect_probability_vector(k):
    perfect = torch.eye(k, dtype=torch.float64)[[1]]  # a probability vector fed to the loss
    loss = F.cross_entropy(perfect, torch.tensor([1]))
    assert pitfalls.cross_entropy_floor(k) == pytest.approx(loss.item(), rel=1e-12)
    assert pitfalls.softmax_confidence_cap(k) == pytest.approx(
        perfect.softmax(1).max().item(), rel=1e-12
    )
    # Any other probability vector scores worse, so the floor is the minimum.
    blurred = torch.full((1, k), 0.1 / (k - 1), dtype=torch.float64)
    blurred[0, 1] = 0.9
    assert F.cross_entropy(blurred, torch.tensor([1])).item() > pitfalls.cross_entropy_floor(k)


def test_cross_entropy_floor_known_value():
    assert pitfalls.cross_entropy_floor(10) == pytest.approx(math.log(1 + 9 / math.e))
    assert pitfalls.cross_entropy_floor(2) == pytest.approx(math.log(1 + 1 / math.e))


@pytest.mark.slow
def test_softmax_before_cross_entropy():
    r = pitfalls.softmax_before_cross_entropy(epochs=2)
    buggy, fixed = r["buggy"], r["fixed"]
    assert min(buggy["train_loss"]) > r["loss_floor"]  # cannot go below log(1 + 9/e)
    assert fixed["train_loss"][-1] < r["loss_floor"]
    assert r["confidence_cap"] == pitfalls.softmax_confidence_cap(10)
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
    trunk = pitfalls.tutorial_unpadded_trunk()
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


def test_keep_best_saves_the_best_epoch_not_the_last(tmp_path):
    model = torch.nn.Linear(1, 1)
    keep_best = pitfalls.KeepBest(model, tmp_path / "best.pt")
    for epoch, acc in enumerate([0.5, 0.9, 0.7, 0.9, 0.6], start=1):
        torch.nn.init.constant_(model.weight, epoch)  # the weights say which epoch made them
        keep_best({"epoch": epoch, "val_acc": acc, "train_loss": 1.0})
    saved = torch.load(tmp_path / "best.pt", weights_only=True)
    assert saved["weight"].item() == 2  # the first epoch to reach 0.9; not the tie, not the last
    assert (keep_best.epoch, keep_best.acc) == (2, 0.9)


@pytest.mark.slow
def test_saving_last_as_best_keeps_the_last_epoch():
    # A learning rate too high for this network: accuracy falls after the
    # first epoch, so the best epoch is not the last and the two files differ.
    r = pitfalls.saving_last_as_best(epochs=3, lr=1.0)
    assert r["best_epoch"] < len(r["val_acc"])
    assert r["wrong_file"] == pytest.approx(r["last_acc"])
    assert r["right_file"] == pytest.approx(r["best_acc"]) == pytest.approx(max(r["val_acc"]))
    assert r["val_acc"][r["best_epoch"] - 1] == r["best_acc"]
    assert r["right_file"] > r["wrong_file"]


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


def test_port_strides_shrink_the_maps_to_1x1_and_skip_three_quarters():
    r = pitfalls.stage_strides(224)
    assert r["fixed"]["sides"] == [56, 56, 28, 14, 7]  # Keras' and torchvision's ResNet-50
    assert r["buggy"]["sides"] == [56, 28, 10, 3, 1]  # ceil(56/2), ceil(28/3), ceil(10/4), ...
    assert r["fixed"]["read"] == r["fixed"]["total"] == 56 * 56
    # stage 2's strided 1x1 convolutions see one position in four of the 56x56 map
    assert r["buggy"]["read"] == 28 * 28


def test_trunk_with_keras_strides_is_the_registered_resnet50_trunk():
    from cnnbook.models import create

    with torch.device("meta"):
        ours = pitfalls.resnet50_trunk(pitfalls.KERAS_STRIDES)
        registered = create("resnet50_keras", variant="v1")
    trunk_params = sum(p.numel() for p in registered.parameters()) - 2048 * 1000 - 1000
    assert sum(p.numel() for p in ours.parameters()) == trunk_params
    assert pitfalls.stage_sides(pitfalls.KERAS_STRIDES, 448)[-1] == 14


def test_port_head_fails_after_either_trunk_and_the_fix_fits_both():
    r = pitfalls.port_head(224)
    port, keras = r["port strides"], r["Keras strides"]
    assert port["trunk_output"] == (2, 2048, 1, 1) and keras["trunk_output"] == (2, 2048, 7, 7)
    assert "Output size is too small" in port["port_head"]["error"]
    assert "shape '[2, 8192]' is invalid for input of size 4096" in keras["port_head"]["error"]
    # The fixed head runs after the faulty trunk too: it hides the stride bug.
    assert port["fixed_head"] == keras["fixed_head"] == {"output": (2, 4), "error": None}
    # At 448 the trunk ends at 14x14, the pool gives 2x2, and 8192 fits.
    assert pitfalls.port_head(448)["Keras strides"]["port_head"] == {
        "output": (2, 4),
        "error": None,
    }


def test_padded_pool_reads_36_of_49_cells_and_divides_by_49():
    r = pitfalls.padded_pool_reads(7)
    assert r["output_side"] == 1 and r["cells_read"] == 36
    assert r["value"] == pytest.approx(36 / 49) and r["global_average"] == 1.0


def test_tutorials_summary_has_the_fixed_heads_parameters():
    # The tutorial's printed summary lists the last Linear with 8,196 parameters (4 classes).
    assert pitfalls.head_params(4) == {"port_fc": 8192 * 4 + 4, "fixed_fc": 8196}


def test_misspelt_layer_fails_only_when_built_and_the_static_check_finds_it():
    r = pitfalls.misspelt_layer()
    assert r["class_defined"]  # the class statement runs; __init__ has not yet
    assert r["error"] == "AttributeError: module 'torch.nn' has no attribute 'RuLU'"
    hits = r["static_check"]
    assert [h["name"] for h in hits] == ["RuLU", "RuLU"]
    assert all(h["suggestions"][0] == "ReLU" for h in hits)
    assert pitfalls.unknown_nn_names(pitfalls.PortHead) == []
