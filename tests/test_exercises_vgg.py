"""The VGG pages' exercises: each solution's numbers, from the paper, torchvision or algebra."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

from cnnbook.analysis import complexity
from cnnbook.exercises import vgg_arch
from cnnbook.models import vgg_blocks


def test_vgg11_layers_hide_inside_five_blocks():
    c = vgg_arch.vgg11_layer_count()
    assert c == {"blocks": 5, "convs": 8, "linears": 3, "feature_modules": 21}
    assert "11 weight layers" in vgg_arch.vgg11_layer_count_text()


def test_closed_form_costs_match_torchinfo():
    # torchinfo runs a real forward pass; the closed form must agree on a small VGG
    net = vgg_blocks.vgg_mini(image_size=32)
    c = vgg_arch.costs(net, 32)
    assert c.conv_params + c.fc_params == complexity.count_params(net)
    biases = sum(m.out_features for m in net.modules() if isinstance(m, torch.nn.Linear))
    biases += sum(
        m.out_channels * s * s
        for m, s in zip(
            [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)],
            (32, 16, 8, 8),
            strict=True,
        )
    )
    # torchinfo counts one MAC per bias add; the closed form does not
    assert c.conv_macs + c.fc_macs + biases == complexity.count_macs(net, (1, 1, 32, 32))
    assert c.head_inputs == 64 * 4 * 4


def test_vgg11_split_puts_weights_in_the_head_and_work_in_the_convs():
    c = vgg_arch.vgg11_split()
    assert c.conv_params == 9_219_328  # 1-channel VGG-11 trunk
    assert c.fc_params == 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 10 + 10
    assert c.fc_macs == 25088 * 4096 + 4096 * 4096 + 4096 * 10
    assert c.conv_macs == 7_427_653_632
    assert "92.8%" in vgg_arch.vgg11_split_text()


def test_96_pixel_input_shrinks_only_the_first_linear_layer():
    assert vgg_arch.head_at(96)["head_inputs"] == 512 * 3 * 3
    diff = vgg_arch.head_at(224)["params"] - vgg_arch.head_at(96)["params"]
    assert diff == (25088 - 4608) * 4096
    assert "4,608" in vgg_arch.head_at_96_text()


def test_vgg16_and_vgg19_counts_are_torchvisions():
    n = vgg_arch.vgg16_vgg19()
    assert n["vgg16"] == torchvision.models.VGG16_Weights.IMAGENET1K_V1.meta["num_params"]
    assert n["vgg19"] == torchvision.models.VGG19_Weights.IMAGENET1K_V1.meta["num_params"]
    assert n == {"vgg16": 138_357_544, "vgg19": 143_667_240, "fc1": 102_764_544}
    assert "74.3%" in vgg_arch.vgg16_vgg19_text()


def test_flatten_at_32_is_512_and_the_pool_restores_25088():
    assert vgg_arch.flatten_at(32) == {"side": 1, "trunk_values": 512, "head_inputs": 25088}
    assert vgg_arch.flatten_at(224)["trunk_values"] == 25088


def test_vgg16_biases():
    b = vgg_arch.vgg16_biases()
    assert b["layers"] == 16
    assert b["biases"] == 4224 + 4096 + 4096 + 1000 == 13_416


def test_weight_layers_are_the_papers_depths():
    from cnnbook.models.vgg import DEPTH

    assert vgg_arch.weight_layers() == DEPTH
    assert vgg_arch.weight_layers()["E"] == 19


def test_c_differs_from_d_by_eight_weights_per_channel_pair():
    n = vgg_arch.c_versus_d()
    assert n["D"] - n["C"] == 8 * (256 * 256 + 2 * 512 * 512) == 4_718_592
    assert n["C"] == 133_638_952


def test_batch_norm_cost_is_torchvisions():
    n = vgg_arch.batch_norm_cost()
    assert n["vgg16_bn"] == torchvision.models.VGG16_BN_Weights.IMAGENET1K_V1.meta["num_params"]
    assert n["vgg16_bn"] - n["vgg16"] == 2 * 4224
    assert n["buffers"] == 2 * 4224 + 13


def test_stacked_3x3_fields_and_parameter_ratios():
    assert vgg_arch.stacked_fields() == {1: 3, 2: 5, 3: 7, 4: 9, 5: 11}
    two = vgg_arch.stack_versus_single(2, 64)
    assert two == {"kernel": 5, "stack": 18 * 64 * 64, "single": 25 * 64 * 64}
    three = vgg_arch.stack_versus_single(3, 512)
    assert three["single"] / three["stack"] == 49 / 27
    assert "81% more" in vgg_arch.three_vs_seven_text()
    assert "0.72" in vgg_arch.two_vs_five_text()


# --------------------------------------------------------------------------- practice pages


def test_adaptive_pool_copies_a_1x1_map_49_times():
    from cnnbook.exercises import vgg_practice as p

    assert p.adaptive_pool_at_32() == {"head_inputs": 25088, "distinct": 512, "copies": 49}


def test_he_std_uses_fan_out():
    from cnnbook.exercises import vgg_practice as p

    torch.manual_seed(0)
    h = p.he_std(256, 512)
    assert h["fan_out"] == 4608
    assert h["std"] == (2 / 4608) ** 0.5
    assert abs(h["measured"] - h["std"]) < 0.01 * h["std"]


def test_vgg16_macs_are_torchvisions_ops():
    from cnnbook.exercises import vgg_practice as p

    o = p.ops_versus_macs()
    assert o["ops"] == 15.47
    assert round(o["macs"] / 1e9, 2) == 15.47
    assert o["macs"] == 15_470_264_320


def test_training_exercises():
    from cnnbook.exercises import vgg_practice as p

    assert p.mini_head(28) == {"inputs": 64 * 3 * 3, "params": 576 * 128 + 128}
    assert p.mini_head(32)["inputs"] == 64 * 4 * 4
    assert p.steps(50_000, 256, 30) == 196 * 30
    assert p.steps(50_000, 256, 30, drop_last=True) == 195 * 30
    assert p.best_epoch([0.5, 0.9, 0.7]) == {"best": 2, "best_acc": 0.9, "last_acc": 0.7}


def test_slim_and_gap_heads_closed_form_equals_model():
    from cnnbook.exercises import vgg_practice as p

    for k in (3, 10):
        for head in ("full", "slim", "gap"):
            n = p.head_params(head, k)
            assert n["closed_form"] == n["model"]
    assert p.head_params("gap", 3)["model"] == 512 * 3 + 3
    # the tutorial's 40,668,995 = 13 convolutions + the slim head for 3 classes
    assert 14_714_688 + p.head_params("slim", 3)["model"] == 40_668_995


def test_half_width_quarters_the_convolutions():
    from cnnbook.exercises import vgg_practice as p

    w = p.width_ratio(0.5)
    assert w["full"] == 14_714_688
    assert 0.25 < w["ratio"] < 0.2505
    g = p.gap_saving(3)
    assert g["full_params"] == 134_272_835
    assert g["full_macs"] - g["gap_macs"] == 25088 * 4096 + 4096 * 4096 + 4096 * 3 - 512 * 3


def test_softmax_floor_and_view_rows():
    from cnnbook.exercises import vgg_practice as p

    floors = p.softmax_floor((10,))
    assert floors[10][0] == pytest.approx(math.log(1 + 9 / math.e))
    assert floors[10][1] == pytest.approx(math.e / (math.e + 9))
    assert [p.view_rows(n) for n in (4, 48, 49, 98)] == [None, None, 1, 2]
    assert p.view_rows(3, image_size=224) == 3


def test_port_head_fits_only_final_sides_12_to_18():
    from cnnbook import pitfalls
    from cnnbook.exercises import vgg_practice as p

    fit = p.port_head_fit((224, 352, 353, 448, 576, 577))
    assert [r["fits"] for r in fit.values()] == [False, False, True, True, True, False]
    assert fit[224] == {"side": 7, "pooled": 1, "fits": False}
    # The closed form against the package's traced trunk and the port's real head.
    for size in (224, 353, 576, 577):
        side = pitfalls.stage_sides(pitfalls.KERAS_STRIDES, size)[-1]
        assert side == fit.get(size, p.port_head_fit((size,))[size])["side"]
        ran = pitfalls.port_head(size)["Keras strides"]["port_head"]["error"] is None
        assert ran == p.port_head_fit((size,))[size]["fits"]
    assert "384, 416, 448, 480, 512, 544, 576" in p.port_head_fit_text()


def test_output_side_formula():
    assert vgg_arch.output_side(224, 3, 1, 1) == 224  # padded 3x3 keeps the side
    assert vgg_arch.output_side(224, 3) == 222  # unpadded 3x3 loses one pixel each side
    assert vgg_arch.output_side(224, 2, 2) == 112
    assert vgg_arch.output_side(224, 2, 2, 1) == 113  # the padded pool of the Pitfalls page
    assert vgg_arch.output_side(7, 7, 7, 1) == 1


def test_sides_by_formula_match_a_real_forward_pass_of_vgg16_cifar():
    from cnnbook import diagram, models

    torch.manual_seed(0)
    cifar = models.create("vgg16_cifar")
    by_formula = vgg_arch.sides_by_formula(cifar, 32)
    traced = {
        layer.name: layer.output_shape[-1] for layer in diagram.trace_layers(cifar, (2, 3, 32, 32))
    }
    assert len(by_formula) == 13 + 5
    assert {name: traced[name] for name, _ in by_formula} == dict(by_formula)
    pools = [side for name, side in by_formula if name in ("features.6", "features.43")]
    assert pools == [16, 1]
    assert cifar.classifier[0].in_features == 512
