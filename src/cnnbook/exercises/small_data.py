"""Exercises of the page on small data and transfer learning.

Each exercise is a function that returns plain numbers and a ``*_text``
function that writes the solution from them. The page shows the text
(folded); ``tests/test_exercises_small_data.py`` asserts the numbers, those
of the tutorial's bird photos exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from cnnbook import models, pretrained
from cnnbook.analysis.complexity import count_params

#: The tutorial's bird photos: 565 images of 4 species, 80% for training.
BIRD_PHOTOS, BIRD_CLASSES, BIRD_TRAIN_FRACTION = 565, 4, 0.8
#: Its test accuracy after each of its 20 epochs, in percent, as logged.
BIRD_TEST_ACC = (
    43.4, 76.1, 77.9, 58.4, 75.2, 78.8, 64.6, 43.4, 90.3, 92.0,
    84.1, 90.3, 89.4, 81.4, 85.8, 92.0, 89.4, 85.8, 90.3, 89.4,
)  # fmt: skip


@dataclass(frozen=True)
class Split:
    """One test image's worth of accuracy, and the images behind the logged scores."""

    train: int
    test: int
    points_per_image: float
    correct: tuple[int, ...]  # test photos right after each epoch

    def changes(self, first_epoch: int = 1) -> list[int]:
        """Photos gained (+) or lost (-) from each epoch to the next, from ``first_epoch``."""
        right = self.correct[first_epoch - 1 :]
        return [b - a for a, b in zip(right[:-1], right[1:], strict=True)]


def bird_split(
    total: int = BIRD_PHOTOS,
    fraction: float = BIRD_TRAIN_FRACTION,
    accs: tuple[float, ...] = BIRD_TEST_ACC,
) -> Split:
    """The tutorial's split (``int(0.8 * total)`` for training) and what its scores count."""
    train = int(fraction * total)
    test = total - train
    return Split(train, test, 100 / test, tuple(round(a / 100 * test) for a in accs))


def bird_split_text(late: int = 10) -> str:
    s = bird_split()
    worst = min(range(len(s.correct) - 1), key=lambda i: s.correct[i + 1] - s.correct[i])
    steps = [abs(c) for c in s.changes(late)]
    return (
        f"The split keeps int(0.8 x {BIRD_PHOTOS}) = {s.train} photos for training and "
        f"{s.test} for testing, so one test photo is {s.points_per_image:.2f} points of "
        f"accuracy. The worst fall, after epoch {worst + 1} ({BIRD_TEST_ACC[worst]}% to "
        f"{BIRD_TEST_ACC[worst + 1]}%), is {s.correct[worst] - s.correct[worst + 1]} photos "
        "changing their answer: a real change of the network, not noise of the measurement. "
        f"From epoch {late} on, the accuracy moves by {min(steps)} to {max(steps)} photos "
        "from one epoch to the next; the next exercise asks how much of that the size of "
        "the test set alone explains."
    )


def binomial_sd(p: float, n: int) -> float:
    """Standard deviation, in points, of an accuracy measured on ``n`` independent images."""
    return 100 * math.sqrt(p * (1 - p) / n)


def images_for(sd_points: float, p: float) -> int:
    """How many validation images bring that standard deviation down to ``sd_points``."""
    return math.ceil(p * (1 - p) / (sd_points / 100) ** 2)


def noise_text(p: float = 0.75, sizes: tuple[int, ...] = (48, 113)) -> str:
    parts = [f"{binomial_sd(p, n):.1f} points on {n} images" for n in sizes]
    return (
        f"A model that gets each image right with probability {p} scores, on a fresh "
        f"sample of images, {100 * p:.0f}% on average with a standard deviation of "
        f"sqrt(p(1 - p)/n): {' and '.join(parts)}. To bring it down to 1 point takes "
        f"{images_for(1.0, p):,} images. A fixed validation set does not resample its "
        "images, but a network that changes a little between epochs re-draws which of the "
        "borderline images it gets right, which is much the same: swings of a few points "
        "need no real change of quality."
    )


def running_weight(batches: int, momentum: float = 0.1) -> float:
    """The share of batch norm's running statistics that comes from the last ``batches``."""
    return 1 - (1 - momentum) ** batches


def bn_memory_text(train_images: int = 36, batch_size: int = 8, recent: int = 10) -> str:
    ours = math.ceil(train_images / batch_size)
    bird_train = int(BIRD_TRAIN_FRACTION * BIRD_PHOTOS)
    theirs = math.ceil(bird_train / batch_size)
    return (
        f"An epoch of {train_images} images in batches of {batch_size} is {ours} updates; "
        f"with momentum 0.1 the last epoch makes up {running_weight(ours):.0%} of the "
        "running statistics, and the rest comes from earlier epochs, under older weights. "
        f"The tutorial's {bird_train} photos in batches of {batch_size} are {theirs} updates "
        f"an epoch, so its statistics are recent, but the last {recent} batches "
        f"({recent * batch_size} photos) make up {running_weight(recent):.0%} of them: an "
        "estimate from few images, which a handful of unusual batches at the end of an "
        "epoch can move."
    )


@dataclass(frozen=True)
class Head:
    """Parameters of a model for ``classes`` classes, all of them and the head's."""

    model: str
    classes: int
    total: int
    head: int


def head_share(name: str, classes: int = BIRD_CLASSES) -> Head:
    """Count a registered model's parameters and those of its head (on the meta device)."""
    with torch.device("meta"):
        model = models.create(name, num_classes=classes)
    head = model.get_submodule(pretrained.head_name(model))
    return Head(name, classes, count_params(model), count_params(head))


def freeze_text(names: tuple[str, ...] = ("resnet18", "resnet50")) -> str:
    lines = []
    for name in names:
        h = head_share(name)
        lines.append(
            f"{name} for {h.classes} classes has {h.total:,} parameters; with "
            f"--freeze-backbone only its head trains: {h.head:,} ({h.head / h.total:.3%})."
        )
    return (
        " ".join(lines)
        + " The ResNet-50 count is the one in the tutorial's summary for its 4 bird species. "
        "So few trainable numbers cannot memorise a few hundred photos the way millions "
        "can; the price is that the features stay ImageNet's. Training everything "
        "afterwards, at a smaller learning rate, is the usual next step."
    )
