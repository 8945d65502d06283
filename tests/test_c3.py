"""YOLOv5's C3 block: structure, parameter arithmetic, the residual switch."""

import pytest
import torch

from cnnbook.analysis.complexity import count_params
from cnnbook.models import available, create
from cnnbook.models.c3 import C3, C3Bottleneck


def c3_params(c1: int, c2: int, n: int, e: float = 0.5) -> int:
    """Closed form: three 1x1 ConvBNActs around n (1x1 + 3x3) bottlenecks; BN has 2 per channel."""
    c_ = int(c2 * e)
    outer = 2 * (c1 * c_ + 2 * c_) + (2 * c_ * c2 + 2 * c2)
    bottleneck = (c_ * c_ + 2 * c_) + (9 * c_ * c_ + 2 * c_)
    return outer + n * bottleneck


@pytest.mark.parametrize("c1,c2,n", [(32, 32, 1), (16, 64, 3), (64, 64, 2)])
def test_parameter_count_closed_form(c1, c2, n):
    for shortcut in (True, False):
        assert count_params(C3(c1, c2, n, shortcut)) == c3_params(c1, c2, n)


def test_shape_and_split():
    block = C3(16, 32, n=2).eval()
    y = block(torch.randn(2, 16, 8, 8))
    assert y.shape == (2, 32, 8, 8)
    assert block.cv1.conv.out_channels == block.cv2.conv.out_channels == 16
    assert block.cv3.conv.in_channels == 32  # the two halves, concatenated


def test_shortcut_adds_the_input_back():
    torch.manual_seed(0)
    with_res = C3Bottleneck(8, 8, shortcut=True).eval()
    without = C3Bottleneck(8, 8, shortcut=False).eval()
    without.load_state_dict(with_res.state_dict())
    x = torch.randn(2, 8, 5, 5)
    assert torch.allclose(with_res(x), without(x) + x)
    # A residual needs equal shapes: with 8 -> 16 channels there is nothing to add.
    assert not C3Bottleneck(8, 16, shortcut=True).add


def test_zeroed_branch_is_identity_only_with_shortcut():
    x = torch.randn(1, 8, 4, 4)
    for shortcut, expected in ((True, x), (False, torch.zeros_like(x))):
        b = C3Bottleneck(8, 8, shortcut=shortcut).eval()
        torch.nn.init.zeros_(b.cv2.bn.weight)
        torch.nn.init.zeros_(b.cv2.bn.bias)
        assert torch.equal(b(x), expected)


def test_classifier_and_options():
    assert "c3_net" in available()
    torch.manual_seed(0)
    res = create("c3_net", num_classes=4, in_channels=1).eval()
    plain = create("c3_net", num_classes=4, in_channels=1, shortcut=False).eval()
    assert count_params(res) == count_params(plain)
    plain.load_state_dict(res.state_dict())
    x = torch.randn(2, 1, 28, 28)
    assert res(x).shape == (2, 4)
    assert not torch.allclose(res(x), plain(x))
    resnet_chain = create("c3_net", block="resnet")
    assert resnet_chain(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    with pytest.raises(ValueError, match="block must be"):
        C3(8, 8, block="dense")


def test_costs_show_the_shortcut_is_free():
    from cnnbook.experiments import c3_compare

    rows = {r["variant"]: r for r in c3_compare.costs()}
    for depth in ("x1", "x4"):
        on, off = rows[f"C3 {depth}, shortcut"], rows[f"C3 {depth}, no shortcut"]
        assert on["params"] == off["params"] and on["macs"] == off["macs"]
    assert rows["C3 x4, shortcut"]["params"] > rows["C3 x1, shortcut"]["params"]


@pytest.mark.slow
def test_small_comparison_runs_and_summarizes():
    from cnnbook.experiments import c3_compare

    setup = c3_compare.Setup(subset=64, batch_size=32, epochs=1)
    variants = c3_compare.SETTINGS[:2]
    result = c3_compare.run(variants, seeds=(0,), setup=setup)
    assert [r["variant"] for r in result["runs"]] == [v[0] for v in variants]
    summary = c3_compare.aggregate(result)
    assert [s["seeds"] for s in summary] == [1, 1]
    assert all(0 <= s["val_acc"] <= 1 and s["final_train_loss"] > 0 for s in summary)
