"""Per-image transforms: a PIL image in, a normalised tensor out.

Image folders are read one file at a time, and a new image at prediction
time arrives the same way, so both go through these transforms. The
evaluation transform has no randomness: validation and prediction must see
an image the same way every time, or a reported accuracy would wobble.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from PIL import Image

#: Channel statistics of ImageNet's training set, used with pretrained weights.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: A PIL image -> tensor transform.
ImageTransform = Callable[[Any], "torch.Tensor"]


class ConvertMode:
    """Convert a PIL image to ``"L"`` or ``"RGB"`` (a named class so it pickles)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, img: Image.Image) -> Image.Image:
        return img.convert(self.mode)

    def __repr__(self) -> str:
        return f"ConvertMode({self.mode!r})"


def make_eval_transform(
    in_channels: int, image_size: int, mean: Sequence[float], std: Sequence[float]
) -> ImageTransform:
    """PIL image -> normalised tensor, with no randomness (validation and prediction)."""
    from torchvision import transforms as T

    return T.Compose(
        [
            ConvertMode("L" if in_channels == 1 else "RGB"),
            T.Resize((image_size, image_size)),
            T.ToTensor(),
            T.Normalize(list(mean), list(std)),
        ]
    )


def make_train_transform(
    in_channels: int,
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    augment: bool,
) -> ImageTransform:
    """PIL image -> normalised tensor, with a random horizontal flip when ``augment``."""
    from torchvision import transforms as T

    steps: list[Callable[[Any], Any]] = [
        ConvertMode("L" if in_channels == 1 else "RGB"),
        T.Resize((image_size, image_size)),
    ]
    if augment:
        steps.append(T.RandomHorizontalFlip())
    steps += [T.ToTensor(), T.Normalize(list(mean), list(std))]
    return T.Compose(steps)
