"""Working with torchvision weights offline: a temporary hub directory, downloads refused."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn


@contextlib.contextmanager
def no_downloads() -> Iterator[None]:
    """Make any attempt to download weights an error instead of a network call.

    ``torch.hub.load_state_dict_from_url`` downloads only when the file is
    missing from the hub cache; inside this block that download raises
    ``RuntimeError``, so code that should find its weights locally proves
    that it did.
    """
    import torch.hub

    def refuse(url: str, *args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError(f"refusing to download {url}: this code must run offline")

    saved = torch.hub.download_url_to_file
    torch.hub.download_url_to_file = refuse
    try:
        yield
    finally:
        torch.hub.download_url_to_file = saved


@contextlib.contextmanager
def torch_home(path: str | os.PathLike) -> Iterator[Path]:
    """Point ``TORCH_HOME`` (and so ``torch.hub.get_dir()``) at ``path`` for a while."""
    saved = os.environ.get("TORCH_HOME")
    os.environ["TORCH_HOME"] = str(path)
    try:
        yield Path(path)
    finally:
        if saved is None:
            os.environ.pop("TORCH_HOME", None)
        else:
            os.environ["TORCH_HOME"] = saved
