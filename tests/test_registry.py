"""Every registered model builds, runs and learns at the input the registry records.

The registry is what the CLI, the examples and the pages rely on to build a
model for some data; if a recorded input or option is wrong, a documented
command crashes. So every name is exercised here, not a sample.
"""

from __future__ import annotations

import pytest
import torch
import torchvision.models as tvm
from torch import nn

from cnnbook import models
from cnnbook.errors import CnnbookError, ModelError
from cnnbook.models.registry import register

NAMES = models.available()

#: Parameter counts at each builder's default number of classes. torchvision's
#: own names are checked against torchvision instead (see below); the CIFAR
#: counts match the ResNet paper's Table 6 (0.27M, 0.46M, 0.66M, 0.85M, 1.7M)
#: and VGG C its Table 2 (134M); the rest are the book's own networks, recorded
#: here so that a changed layer shows up as a changed count.
PARAMS = {
    "c3_net": 54_170,
    "cifar_plain20": 269_722,
    "cifar_plain32": 464_154,
    "cifar_plain44": 658_586,
    "cifar_plain56": 853_018,
    "cifar_plain110": 1_727_962,
    "cifar_preact_resnet20": 269_722,
    "cifar_preact_resnet110": 1_727_962,
    "cifar_resnet20": 269_722,
    "cifar_resnet32": 464_154,
    "cifar_resnet44": 658_586,
    "cifar_resnet56": 853_018,
    "cifar_resnet110": 1_727_962,
    "kernelnet_3x3": 146_586,
    "kernelnet_3x3x3": 232_010,
    "kernelnet_5x5": 168_426,
    "kernelnet_5x5_macs": 200_802,
    "kernelnet_5x5_matched": 148_150,
    "kernelnet_7x7": 329_322,
    "resnet50_keras": 25_557_032,  # torchvision's ResNet-50, built another way
    "vgg11_blocks": 128_806_154,
    "vgg11_quarter": 43_093_322,
    "vgg16_by_hand": 138_357_544,  # torchvision's VGG-16, built by hand
    "vgg16_cifar": 15_253_578,
    "vgg16_slim": 40_925_224,
    "vgg_a_lrn": 132_863_336,  # LRN has no parameters: the same as A
    "vgg_c": 133_638_952,
    "vgg_c_bn": 133_647_400,
    "vgg_mini": 151_882,
    "tiny_cnn": 356,
}

#: The paper's rounded counts, an independent check of the exact table above.
PAPER_MILLIONS = {
    "cifar_resnet20": 0.27,
    "cifar_resnet32": 0.46,
    "cifar_resnet44": 0.66,
    "cifar_resnet56": 0.85,
    "cifar_resnet110": 1.7,
    "vgg_c": 134,
}

#: Names that torchvision also builds: their counts must be torchvision's.
TORCHVISION = [n for n in NAMES if hasattr(tvm, n) and n not in PARAMS]


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_every_name_has_a_parameter_count():
    assert sorted(TORCHVISION + list(PARAMS)) == sorted(NAMES)
    assert len(TORCHVISION) == 13  # vgg11..vgg19_bn and resnet18..resnet152


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count(name):
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        ours = _count(models.create(name))
        expected = _count(getattr(tvm, name)()) if name in TORCHVISION else PARAMS[name]
    assert ours == expected
    if name in PAPER_MILLIONS:
        digits = 2 if PAPER_MILLIONS[name] < 1 else 0 if PAPER_MILLIONS[name] > 100 else 1
        assert round(ours / 1e6, digits) == PAPER_MILLIONS[name]


@pytest.mark.parametrize("name", NAMES)
def test_designed_input_runs_forward_and_backward(name):
    """At the recorded (C, H, W): one score per class, and a gradient for every parameter.

    On the meta device every shape is computed and nothing else, so even
    VGG-19 at 224x224 costs milliseconds; real numbers follow below.
    """
    spec = models.spec(name)
    c, h, w = spec.input_size
    assert h == w and h >= spec.min_image_size
    with torch.device("meta"):
        model = models.create(name, num_classes=3, in_channels=c, image_size=h).train()
        out = model(torch.randn(2, c, h, w))
        out.sum().backward()
    assert out.shape == (2, 3)
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert first.in_channels == c, "the recorded channels are not the first layer's"
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient reaches {missing[:3]}"


def _small(name: str) -> bool:
    with torch.device("meta"):
        return _count(models.create(name, num_classes=3)) < 30_000_000


#: Real numbers for every network under 30M parameters. The larger ones (the
#: VGGs and ResNet-101/152) are torchvision's architectures, which the
#: equality proofs run on real numbers against torchvision itself.
SMALL = [n for n in NAMES if _small(n)]


@pytest.mark.parametrize("name", SMALL)
def test_smallest_input_trains(name):
    """Forward and backward at the smallest recorded side: finite loss and gradients."""
    spec = models.spec(name)
    c, side = spec.in_channels, spec.min_image_size
    torch.manual_seed(0)
    model = models.create(name, num_classes=3, in_channels=c, image_size=side).train()
    loss = nn.functional.cross_entropy(model(torch.randn(2, c, side, side)), torch.tensor([0, 2]))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("name", ["vgg_mini", "vgg11_blocks"])
def test_image_size_reaches_builders_that_take_it(name):
    model = models.create(name, num_classes=3, image_size=64)
    assert model(torch.randn(1, models.spec(name).in_channels, 64, 64)).shape == (1, 3)


def test_channels_reach_builders_that_take_them():
    model = models.create("vgg16", num_classes=2, in_channels=1, image_size=32)
    assert model.features[0].in_channels == 1
    assert models.spec("vgg16").channels_for(1) == 1
    assert models.spec("resnet50_keras").channels_for(1) == 3


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: models.create("nope"), ["unknown model 'nope'", "vgg16"]),
        (lambda: models.create("vgg16", input_size=32), ["no option 'input_size'", "width_mult"]),
        (lambda: models.create("vgg16", image_size=16), ["at least 32x32", "16x16"]),
        (lambda: models.create("vgg_mini", image_size=4), ["at least 8x8"]),
        (lambda: models.create("resnet50_keras", in_channels=1), ["3-channel", "not 1"]),
    ],
    ids=["name", "option", "size", "size-mini", "channels"],
)
def test_what_cannot_be_built_is_one_sentence(call, words):
    with pytest.raises(ModelError) as info:
        call()
    message = str(info.value)
    assert isinstance(info.value, CnnbookError) and "\n" not in message
    for word in words:
        assert word in message


def test_builders_must_name_their_options():
    with pytest.raises(TypeError, match="must name its options"):

        @register("test_kwargs_builder")
        def build(num_classes: int = 10, **options) -> nn.Module:
            return nn.Linear(1, num_classes)

    assert "test_kwargs_builder" not in models.available()


def test_names_sort_naturally():
    plain = [n for n in NAMES if n.startswith("cifar_plain")]
    assert plain == [f"cifar_plain{d}" for d in (20, 32, 44, 56, 110)]
