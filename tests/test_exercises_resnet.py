"""The ResNet chapter's exercise answers: numbers from the papers and torchvision, exactly."""

from __future__ import annotations

import pytest
import torchvision

from cnnbook.analysis.complexity import count_params, layer_costs
from cnnbook.analysis.torchvision_facts import meta_model, meta_shapes
from cnnbook.analysis.torchvision_facts import resnet as facts
from cnnbook.exercises import resnet as ex
from cnnbook.exercises import resnet_scaling as sc
from cnnbook.exercises import resnet_torchvision as tv
from cnnbook.models.c3 import C3

# --- degradation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("depth", "params"),
    # The option-A CIFAR ResNets' sizes (the paper's Table 6 rounds them: 0.27M, 0.85M, 1.7M).
    [(20, 269_722), (56, 853_018), (110, 1_727_962)],
)
def test_plain_and_residual_twins_have_the_same_parameters(depth, params):
    t = ex.twins(depth)
    assert (t.plain, t.residual, t.same_tensors) == (params, params, True)


def test_twins_text_states_the_count_and_why():
    text = ex.twins_text(56)
    assert "853,018" in text and "the same" in text and "option A" in text


@pytest.mark.parametrize(("n", "layers"), [(3, 20), (9, 56), (18, 110)])
def test_weighted_layers_are_6n_plus_2_counted_in_the_model(n, layers):
    d = ex.weighted_layers(n)
    assert d.formula == layers
    assert (d.convolutions, d.linear) == (layers - 1, 1)


def test_paper_schedule_divides_by_ten_at_32k_and_48k():
    rates = ex.paper_lr()
    assert rates[31_999] == pytest.approx(0.1)
    assert rates[32_000] == pytest.approx(0.01)
    assert rates[48_000] == pytest.approx(0.001)
    warm = ex.paper_lr((399, 400), warmup_steps=400)
    assert warm[399] == pytest.approx(0.01) and warm[400] == pytest.approx(0.1)
    text = ex.paper_lr_text()
    assert "step 31,999: 0.1;" in text and "step 48,000: 0.001" in text and "182 epochs" in text


# --- residual blocks -------------------------------------------------------------


def test_bottleneck_costs_the_papers_figure_5_numbers():
    c = ex.bottleneck_cost()
    assert c.bottleneck_256 == 256 * 64 + 9 * 64 * 64 + 64 * 256 == 69_632
    assert c.basic_64 == 2 * 9 * 64 * 64 == 73_728
    assert c.two_3x3_256 == 2 * 9 * 256 * 256 == 1_179_648
    assert "16.9 times" in ex.bottleneck_cost_text()


def test_preact_block_has_no_relu_after_the_addition():
    c = ex.preact_comparison()
    assert c.negative_original == 0.0
    assert 0.3 < c.negative_preact < 0.7
    # With F = 0 the pre-activation block is exactly the identity; the original clips x < 0.
    assert c.identity_error_preact == 0.0
    assert c.identity_error_original > 1.0
    assert "off the identity by 0 " in ex.preact_text()


def test_shortcut_options_cost_of_resnet34():
    c = ex.shortcut_cost()
    # Option B is torchvision's ResNet-34, parameter for parameter.
    assert c.option_b == count_params(torchvision.models.resnet34()) == 21_797_672
    assert c.option_b - c.option_a == 64 * 128 + 128 * 256 + 256 * 512 + 2 * (128 + 256 + 512)
    assert c.option_a == 21_623_848
    assert c.option_c > c.option_b
    assert "173,824 in all" in ex.shortcut_cost_text()


# --- inside torchvision ------------------------------------------------------------


def test_v1_saves_the_same_macs_in_each_stage_and_matches_the_measurement():
    moves = tv.stride_moves()
    assert [m.block for m in moves] == ["layer2.0", "layer3.0", "layer4.0"]
    assert [(m.side_in, m.side_out) for m in moves] == [(56, 28), (28, 14), (14, 7)]
    assert [m.macs_saved_by_v1 for m in moves] == [77_070_336] * 3
    # Independent check: count_macs on the real blocks, V1.5 and moved to V1.
    model = torchvision.models.resnet50().eval()
    shapes = meta_shapes(meta_model(torchvision.models.resnet50), facts.STAGES, 224)
    measured = [s.macs_v15 - s.macs_v1 for s in facts.v1_savings(model, shapes)]
    assert measured == [m.macs_saved_by_v1 for m in moves]
    assert tv.torchvision_gmacs() == pytest.approx(4.089)
    assert "3.858 GMACs" in tv.stride_moves_text()


def test_zero_init_residual_is_off_by_default_and_zeroes_one_norm_per_block():
    z = tv.zero_init()
    assert z.default is False
    assert len(z.zeroed["resnet18"]) == 2 + 2 + 2 + 2
    assert len(z.zeroed["resnet50"]) == 3 + 4 + 6 + 3
    assert all(n.endswith(".bn2") for n in z.zeroed["resnet18"])
    assert all(n.endswith(".bn3") for n in z.zeroed["resnet50"])


def test_resnet50_strides_sit_on_the_3x3_and_downsample_32_fold():
    d = tv.downsampling()
    assert d.main_path == [
        "conv1",
        "maxpool",
        "layer2.0.conv2",
        "layer3.0.conv2",
        "layer4.0.conv2",
    ]
    assert d.shortcuts == [f"layer{i}.0.downsample.0" for i in (2, 3, 4)]
    assert (d.factor, d.output_side, d.dilated_output_side) == (32, 7, 28)


# --- C3 ----------------------------------------------------------------------------------


def test_c3_shortcut_costs_no_parameters():
    k = tv.c3_cost(64, 3)
    assert k.with_shortcut == k.without_shortcut == 39_552
    # BasicBlock (18 c_^2 + BN) instead of the YOLO bottleneck (10 c_^2 + BN), c_ = 32.
    assert k.resnet_block - k.with_shortcut == 3 * 8 * 32 * 32
    assert "the same" in tv.c3_cost_text()


def test_c3_addition_cost_matches_the_convolutions_counted_by_torchinfo():
    a = tv.c3_addition_cost(64, 3, 32)
    assert a.additions == 3 * 32 * 32 * 32 == 98_304
    convs = [r for r in layer_costs(C3(64, 64, 3), (1, 64, 32, 32)) if r.kind == "Conv2d"]
    assert a.conv_macs == sum(r.macs for r in convs)
    assert "0.25%" in tv.c3_addition_text()


def test_c3_net_counts_its_additions():
    assert tv.c3_net_additions() == {True: 4, False: 0}
    assert "4 additions" in tv.c3_net_text()


# --- scaling up --------------------------------------------------------------------------


def test_goyal_global_batch_and_steps_per_epoch():
    assert sc.global_batch(32, 8, 32) == 8192
    assert sc.steps_per_epoch(8192) == 157
    assert sc.steps_per_epoch(256) == 5005
    assert "8,192 images per step" in sc.global_batch_text()


def test_linear_scaling_rule():
    assert sc.scaled_lr(256) == pytest.approx(0.1)
    assert sc.scaled_lr(1024) == pytest.approx(0.4)
    assert sc.scaled_lr(8192) == pytest.approx(3.2)
    assert "batch 1,024: 0.4;" in sc.linear_scaling_text()


def test_warmup_ramps_linearly_to_the_scaled_rate_over_five_epochs():
    w = sc.warmup(8192, 5)
    assert w.steps == 5 * 157
    assert w.peak_lr == pytest.approx(3.2)
    assert w.first_lr == pytest.approx(3.2 / 785)
    assert w.middle_lr == pytest.approx(3.2 * 392 / 785)
    assert w.last_lr == pytest.approx(3.2)
    assert "--warmup-steps 785" in sc.warmup_text()
