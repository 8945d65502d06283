"""Every network of the book, built by name.

>>> from cnnbook import models
>>> net = models.create("vgg11", num_classes=10)

Each family lives in its own module and registers its names on import.
"""

from cnnbook.models import vgg  # noqa: F401  (registers names)
from cnnbook.models.registry import available, create, register

__all__ = ["available", "create", "register"]
