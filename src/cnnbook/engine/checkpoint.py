"""Checkpoints: what one holds, safe loads, and the resume-or-refuse rule.

A checkpoint is a plain dictionary of tensors, numbers, strings and lists,
so ``torch.load(path, weights_only=True)`` reads it without running any
pickled code. It holds the model and optimizer state, the scheduler's
step count, the epoch and step reached, the history so far, the run's
settings (``"settings"``: the recipe of :class:`~cnnbook.engine.TrainConfig`)
and the caller's ``"meta"`` (model name and options, data description).

No random-number-generator state is stored: the loop reseeds at every
epoch from the run's seed and the epoch number, so a resumed run draws
the same numbers without it. Files are written through :mod:`cnnbook.io`
(temporary file, then rename), so a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from cnnbook.errors import CheckpointError
from cnnbook.io import atomic_save, write_json

FORMAT = "cnnbook-checkpoint"
#: 2: "config" split into "settings" and "meta", no "rng". Version 1 still loads.
VERSION = 2


def load(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint written by the engine, or fail with one sentence saying why."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception:  # torch and pickle raise many types for a damaged file; all mean the same
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated or corrupt file)"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a cnnbook checkpoint")
    if ckpt.get("version", 0) > VERSION:
        raise CheckpointError(f"{path} was written by a newer cnnbook (format {ckpt['version']})")
    if "meta" not in ckpt:
        # Version 1 kept settings and meta in one "config" dict; both views read it.
        old = ckpt.get("config", {})
        ckpt["meta"], ckpt["settings"] = old, old
        # It also called a model's int side "input_size", now "image_size".
        kwargs = old.get("model_kwargs", {})
        if isinstance(kwargs.get("input_size"), int):
            kwargs["image_size"] = kwargs.pop("input_size")
    return ckpt


def check_model_matches(model: nn.Module, ckpt: dict, path, model_name: str | None = None) -> None:
    """Refuse a checkpoint whose tensors do not fit ``model`` (another architecture or class count)."""
    _check_model_name(ckpt, path, model_name)
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    saved = {k: tuple(v.shape) for k, v in ckpt["model"].items()}
    if own != saved:
        missing = sorted(set(own) ^ set(saved))
        wrong = sorted(k for k in set(own) & set(saved) if own[k] != saved[k])
        detail = f"first differing tensor: {(missing or wrong)[0]}"
        raise CheckpointError(f"{path} was written for a different model ({detail})")


def _check_model_name(ckpt: dict, path, model_name: str | None) -> None:
    saved_name = ckpt.get("meta", {}).get("model")
    if model_name and saved_name and model_name != saved_name:
        raise CheckpointError(
            f"{path} holds a {saved_name!r} model, not {model_name!r}; "
            "use the same --model or another --out"
        )


def open_run(
    out_dir: str | os.PathLike | None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    model_name: str | None = None,
    model: nn.Module | None = None,
    map_location="cpu",
) -> dict | None:
    """Resume or refuse: the saved state to continue from, or None for a fresh run.

    With ``resume``, ``out_dir/last.pt`` must exist and hold the same model
    (checked by name, and by tensor shapes when ``model`` is given).
    Without it, a directory that already holds a run is refused unless
    ``overwrite``, so a typo never destroys a finished run. Nothing is
    written here: a refusal leaves every file as it was.
    """
    if out_dir is None:
        return None
    last = Path(out_dir) / "last.pt"
    if not resume:
        if last.exists() and not overwrite:
            raise CheckpointError(
                f"{out_dir} already holds a checkpoint; "
                "pass --resume to continue it or choose another --out"
            )
        return None
    if not last.is_file():
        raise CheckpointError(f"cannot resume: there is no checkpoint at {last}")
    state = load(last, map_location=map_location)
    if model is None:
        _check_model_name(state, last, model_name)
    else:
        check_model_matches(model, state, last, model_name)
    return state


def make_state(
    *, model: nn.Module, optimizer, scheduler, epoch: int, step: int, best_val_acc: float,
    history, world_size: int, settings: dict, meta: dict,
) -> dict:  # fmt: skip
    """The dictionary a checkpoint file holds (tensors on the CPU, plain values otherwise)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": epoch,
        "step": step,
        "best_val_acc": best_val_acc,
        "history": history.to_dict(),
        "world_size": world_size,
        "settings": settings,
        "meta": meta,
    }


def write(state: dict, out_dir: str | os.PathLike, best: bool) -> None:
    """Write ``last.pt`` (and ``best.pt`` when ``best``) and ``history.json``, each atomically."""
    out = Path(out_dir)
    # best.pt first: if the process dies between the two writes, last.pt
    # still points at the previous epoch, which a resume redoes.
    if best:
        atomic_save(state, out / "best.pt")
    atomic_save(state, out / "last.pt")
    write_json(state["history"], out / "history.json")
