"""Weights facts for the ResNet page: recipes V1 and V2, the hub cache, and safe loading.

Kept apart from the architecture measurements in :mod:`.resnet` because
they are about files and metadata, not about the network.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import pickle
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn
from torchvision.models import resnet as tv_resnet

from cnnbook import tvsource


def v1_v2_table() -> list[tuple[str, float, float, bool, str, str]]:
    """(enum, acc@1 V1, acc@1 V2, same num_params, resize V1 / V2, DEFAULT) where V2 exists."""
    rows = []
    for enum_name in [n for n in tv_resnet.__all__ if n.endswith("_Weights")]:
        enum = getattr(tv_resnet, enum_name)
        if "IMAGENET1K_V2" not in enum.__members__:
            continue
        w1, w2 = enum.IMAGENET1K_V1, enum.IMAGENET1K_V2
        rows.append(
            (
                enum_name,
                w1.meta["_metrics"]["ImageNet-1K"]["acc@1"],
                w2.meta["_metrics"]["ImageNet-1K"]["acc@1"],
                w1.meta["num_params"] == w2.meta["num_params"],
                f"{w1.transforms().resize_size[0]} / {w2.transforms().resize_size[0]}",
                str(enum.DEFAULT).split(".")[1],
            )
        )
    return rows


def _same_weights(model: nn.Module, state: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


def load_from_cache(stand_in: dict[str, torch.Tensor]) -> dict[str, object]:
    """Put ``stand_in`` where ResNet-18's ImageNet weights belong in a temporary hub, and load.

    Any download attempt is an error here, so the result proves that
    ``weights=`` and the legacy ``pretrained=True`` both read the local file.
    Paths come back with the temporary directory shown as ``<tmp>``.
    """
    weights = tv_resnet.ResNet18_Weights.IMAGENET1K_V1
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp, tvsource.torch_home(tmp), tvsource.no_downloads():
        out["hub_dir"] = torch.hub.get_dir().replace(tmp, "<tmp>")
        target = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
        target.parent.mkdir(parents=True)
        torch.save(stand_in, target)
        out["target"] = str(target).replace(tmp, "<tmp>")
        out["mib"] = target.stat().st_size / 2**20
        out["weights_loaded"] = _same_weights(tv_resnet.resnet18(weights=weights), stand_in)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            legacy = tv_resnet.resnet18(pretrained=True)
        out["pretrained_loaded"] = _same_weights(legacy, stand_in)
        out["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
        state = torch.load(target, map_location="cpu", weights_only=True)
        out["load_state_dict"] = str(tv_resnet.resnet18().load_state_dict(state))
    return out


class Payload:
    """Unpickles by calling ``print``: harmless stand-in for a file that runs ``os.system``."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("!!! this line was printed by code inside the file !!!",))


def unpickling_demo() -> dict[str, str]:
    """Load a file holding a :class:`Payload` both ways.

    Returns what loading with ``weights_only=False`` printed (the payload
    ran) and the reason ``weights_only=True`` gives for refusing it.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "payload.pth"
        torch.save({"weight": torch.zeros(2), "extra": Payload()}, path)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            torch.load(path, weights_only=False)
        refused = ""
        try:
            torch.load(path, weights_only=True)
        except pickle.UnpicklingError as err:
            reason = [line for line in str(err).splitlines() if "GLOBAL" in line]
            refused = (reason or str(err).splitlines())[0].strip()
    return {"unsafe_printed": printed.getvalue().strip(), "safe_refused": refused}


def weights_only_defaults() -> dict[str, object]:
    """The ``weights_only`` default of ``torch.load`` and of the hub loader torchvision uses."""
    return {
        "torch.load": inspect.signature(torch.load).parameters["weights_only"].default,
        "torch.hub.load_state_dict_from_url": inspect.signature(torch.hub.load_state_dict_from_url)
        .parameters["weights_only"]
        .default,
    }
