"""YOLOv5's C3 block: structure, parameter arithmetic, the residual switch."""

import copy
import dataclasses
import json

import pytest
import torch
from recorded_files import recorded_file

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


# --------------------------------------------------------------------------- recorded run


def _recorded_file(jobs: int) -> dict:
    from cnnbook.experiments import c3_compare

    made = c3_compare.record(seeds=(0,), jobs=jobs, setup=c3_compare.DRY_RUN)
    return recorded_file("c3", made, (0,), jobs)


def _check(result: dict, tmp_path) -> list[str]:
    from cnnbook.results import check
    from cnnbook.results.registry import KINDS

    kinds = {"c3": dataclasses.replace(KINDS["c3"], setup=lambda: result["setup"])}
    (tmp_path / "c3-cpu.json").write_text(json.dumps(result))
    return check.check(tmp_path, kinds)


@pytest.mark.slow
def test_a_recorded_c3_run_passes_the_check_and_an_edited_number_does_not(tmp_path):
    from cnnbook.experiments import c3_compare

    result = _recorded_file(jobs=2)  # two processes: the rows must not depend on it
    labels = [label for label, _ in c3_compare.SETTINGS]
    assert [(r["variant"], r["seed"]) for r in result["rows"]] == [(v, 0) for v in labels]
    assert all(len(r["train_error"]) == len(r["val_error"]) == 1 for r in result["rows"])
    assert _check(result, tmp_path) == []
    edited = copy.deepcopy(result)
    edited["rows"][0]["train_loss"][0] += 0.01
    (problem,) = _check(edited, tmp_path)
    assert "replaying c3_net seed 0 gives train_loss" in problem
    del edited["rows"][1]["variant"]
    assert any("variant" in p for p in _check(edited, tmp_path))


def test_the_recorded_c3_setup_reads_back_from_json_and_is_the_documented_scale():
    from cnnbook.experiments import c3_compare

    stored = json.loads(json.dumps(dataclasses.asdict(c3_compare.RECORDED)))
    assert c3_compare.setup_from(stored) == c3_compare.RECORDED
    # The comment above RECORDED promises all digits, 20 epochs and two rate drops.
    assert (c3_compare.RECORDED.subset, c3_compare.RECORDED.epochs) == (None, 20)
    assert c3_compare.RECORDED.decay_at == (0.5, 0.75) and c3_compare.RECORDED.val_curve
