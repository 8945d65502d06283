"""Every network of the book, built by name.

>>> from cnnbook import models
>>> net = models.create("vgg11", num_classes=10)

Each family lives in its own module and registers its names on import;
importing this package imports them all, so ``available()`` is complete.
"""

from cnnbook.errors import ModelError
from cnnbook.models import (  # noqa: F401  (imported for their registrations)
    c3,
    cifar_resnet,
    kernel_nets,
    preact_resnet,
    resnet,
    resnet_keras,
    tiny,
    vgg,
    vgg_blocks,
    vgg_by_hand,
    vgg_variants,
)
from cnnbook.models.registry import ModelSpec, available, create, input_size, register, spec

__all__ = ["ModelError", "ModelSpec", "available", "create", "input_size", "register", "spec"]
