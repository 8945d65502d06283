"""The answers of "Seeing inside a CNN": Grad-CAM is CAM after global pooling, the mean
is not the sum, and the map is coarse while each cell sees far."""

from __future__ import annotations

from cnnbook.exercises import inside as ex


def test_grad_cam_after_global_pooling_is_cam_over_hw_and_not_after_vgg_head():
    c = ex.cam_check()
    assert c.side == 8  # 32 -> 32 -> 16 -> 8 through the three stages
    assert c.constant_gradient and not c.vgg_constant_gradient
    assert c.largest > 0 and c.difference <= 1e-5 * c.largest
    text = ex.cam_check_text()
    assert "hw = 8 x 8 = 64" in text and "(measured: yes)" in text
    assert "(constant: no, measured)" in text


def test_summing_gradients_scales_the_map_by_hw_and_nothing_else():
    s = ex.sum_check()
    assert s.side == 8 and abs(s.ratio - 64) < 1e-3 and s.same_after_scaling
    text = ex.sum_check_text()
    assert "64.00 times" in text and "against hw = 64" in text and "(yes, measured)" in text


def test_grad_cam_cells_are_4_pixels_while_units_see_26_and_81():
    rows = {r.model: (r.side, r.cell, r.field) for r in ex.resolutions()}
    # VGG: 3, 4 (pool), 8, 10 (pool), 18, 26 after the last convolution. ResNet-20:
    # 3 + 6 x 2 = 15 in stage 1, + 2 + 5 x 4 = 37 in stage 2, + 4 + 5 x 8 = 81 in stage 3.
    assert rows == {"vgg_mini": (8, 4, 26), "cifar_resnet20": (8, 4, 81)}
    text = ex.resolutions_text()
    assert "each 4 x 4 pixels, while one unit sees 26 x 26 pixels" in text
    assert "81 x 81" in text
