"""Grad-CAM equals captum's LayerGradCam, and the helpers around it do what they say.

captum (the PyTorch project's interpretability library) is the reference:
same model, same input, same layer, same target classes, ReLU on. The maps
are compared value by value at the layer's resolution, then after bilinear
upsampling against captum's ``LayerAttribution.interpolate``. Tolerance:
``rtol=1e-5`` and ``atol = 1e-6 x`` the largest value of captum's map (the
two compute the same float32 operations; the difference observed is 0).
"""

from __future__ import annotations

import pytest
import torch
from captum.attr import LayerAttribution, LayerGradCam

from cnnbook import models
from cnnbook.analysis import gradcam, inside

# (registry name, options, Grad-CAM layer, input shape): a VGG and two ResNets, one
# of them torchvision's layout. Random weights: the equality does not need training.
CASES = {
    "vgg_mini": ("vgg_mini", {"in_channels": 1, "image_size": 32}, "features.2.3", (1, 32)),
    "cifar_resnet20": ("cifar_resnet20", {"base_channels": 8}, "layer3", (3, 32)),
    "resnet18": ("resnet18", {}, "layer4", (3, 64)),
}
TARGETS = [0, 2, 1, 2]


def _case(name: str, seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, str]:
    model_name, options, layer, (channels, side) = CASES[name]
    torch.manual_seed(seed)
    model = models.create(model_name, num_classes=3, **options)
    _randomise_batch_norm(model)
    x = torch.randn(len(TARGETS), channels, side, side)
    return model, x, layer


def _randomise_batch_norm(model: torch.nn.Module) -> None:
    # Fresh batch norms are the identity in eval mode; random statistics and affine
    # parameters make the test see a layer that does something, as after training.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


def _captum(model: torch.nn.Module, x: torch.Tensor, layer: str, target) -> torch.Tensor:
    model.eval()  # captum runs the model as it finds it; ours switches to eval itself
    maps = LayerGradCam(model, model.get_submodule(layer)).attribute(
        x, target=target, relu_attributions=True
    )
    return maps.detach()


def _close(ours: torch.Tensor, ref: torch.Tensor) -> None:
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6 * float(ref.abs().max()))


@pytest.mark.parametrize("name", CASES)
def test_grad_cam_equals_captum_layer_grad_cam(name):
    model, x, layer = _case(name)
    ours = gradcam.grad_cam(model, x, TARGETS, layer)
    ref = _captum(model, x, layer, torch.tensor(TARGETS))[:, 0]
    # A test of all-zero maps would pass a broken ReLU or weighting: the maps must
    # have both zero cells (the ReLU acted) and positive ones.
    assert 0 < (ref > 0).float().mean() < 1
    _close(ours, ref)


@pytest.mark.parametrize("name", CASES)
def test_upsampled_grad_cam_equals_captum_interpolate(name):
    model, x, layer = _case(name, seed=1)
    size = tuple(x.shape[-2:])
    ours = gradcam.upsample(gradcam.grad_cam(model, x, 1, layer), size)
    ref = LayerAttribution.interpolate(_captum(model, x, layer, 1), size, "bilinear")[:, 0]
    assert ours.shape == (len(x), *size)
    _close(ours, ref)


def test_the_target_class_changes_the_map():
    model, x, layer = _case("cifar_resnet20")
    maps = [gradcam.grad_cam(model, x, c, layer) for c in range(3)]
    assert not torch.allclose(maps[0], maps[1]) and not torch.allclose(maps[1], maps[2])


def test_leaves_the_model_as_it_found_it():
    model, x, layer = _case("cifar_resnet20")
    model.train()
    gradcam.grad_cam(model, x, 0, layer)
    assert all(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert not any(m._forward_hooks for m in model.modules())


def test_works_on_a_frozen_model():
    model, x, layer = _case("vgg_mini")
    ref = gradcam.grad_cam(model, x, TARGETS, layer)
    model.requires_grad_(False)
    torch.testing.assert_close(gradcam.grad_cam(model, x, TARGETS, layer), ref)


def test_refuses_a_layer_whose_output_a_later_layer_overwrites():
    model, x, _ = _case("vgg_mini")
    # features.2.2 is a convolution followed by ReLU(inplace=True).
    with pytest.raises(ValueError, match="in place"):
        gradcam.grad_cam(model, x, 0, "features.2.2")
    assert not any(m._forward_hooks for m in model.modules())


@pytest.mark.parametrize(
    ("target", "layer", "message"),
    [
        (3, "layer3", "0..2"),
        ([0, 1], "layer3", "one per image"),
        (0, "layer9", "no layer named"),
    ],
)
def test_bad_arguments_get_one_sentence(target, layer, message):
    model, x, _ = _case("cifar_resnet20")
    with pytest.raises(ValueError, match=message):
        gradcam.grad_cam(model, x, target, layer)
    assert not any(m._forward_hooks for m in model.modules())


# --- the page's helpers ---------------------------------------------------------------


def test_layer_outputs_are_the_blocks_outputs():
    model, x, _ = _case("vgg_mini")
    names = ["features.0", "features.1", "features.2"]
    outs = inside.layer_outputs(model, x, names)
    with torch.no_grad():
        expected = model.features[0](x)
        torch.testing.assert_close(outs["features.0"], expected)
        expected = model.features[2](model.features[1](expected))
    torch.testing.assert_close(outs["features.2"], expected)
    assert [tuple(o.shape[1:]) for o in outs.values()] == [(16, 16, 16), (32, 8, 8), (64, 4, 4)]


def test_layer_outputs_are_kept_before_a_later_in_place_relu_changes_them():
    model, x, _ = _case("vgg_mini")
    out = inside.layer_outputs(model, x, ["features.0.0"])["features.0.0"]
    with torch.no_grad():
        torch.testing.assert_close(out, model.features[0][0](x))
    assert (out < 0).any()


def test_first_conv_is_the_layer_on_the_pixels():
    model, _, _ = _case("cifar_resnet20")
    assert inside.first_conv(model) is model.conv1


def test_half_and_half_and_the_share_on_the_left():
    left = torch.arange(48.0).view(2, 1, 4, 6)
    right = -left
    mixed = inside.half_and_half(left, right)
    assert torch.equal(mixed[..., :3], left[..., :3])
    assert torch.equal(mixed[..., 3:], right[..., 3:])
    maps = torch.tensor([[[3.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    share = inside.share_on_left(maps)
    assert share[0] == pytest.approx(0.75) and torch.isnan(share[1])


def test_target_half_shares_follow_the_class_when_each_class_has_its_own_feature():
    # Class c's images light up channel c only; the score of class c is channel c's
    # mean. In a half-and-half image each channel is lit on its class's half, so
    # Grad-CAM must put all of each class on that side, and half of it on neither.
    class ChannelMeans(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = torch.nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.features(x).mean(dim=(2, 3))

    labels = torch.tensor([0, 1] * 4)
    images = torch.zeros(8, 2, 4, 4)
    images[labels == 0, 0] = torch.rand(4, 4, 4) + 0.1
    images[labels == 1, 1] = torch.rand(4, 4, 4) + 0.1
    shares = inside.target_half_shares(ChannelMeans(), "features", images, labels, per_class=4)
    assert shares.shape == (16,)
    torch.testing.assert_close(shares, torch.ones(16))
