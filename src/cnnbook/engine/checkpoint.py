"""Checkpoints: atomic writes, safe loads, and everything a resume needs.

A checkpoint is a plain dictionary of tensors, numbers, strings and lists,
so ``torch.load(path, weights_only=True)`` reads it without running any
pickled code. It holds the model and optimizer state, the scheduler, the
epoch and step reached, the history so far, the random-number-generator
states, and the run's configuration.
"""

from __future__ import annotations

from cnnbook.errors import CheckpointError  # noqa: F401  (re-exported)

import json
import os
import random
import tempfile
from pathlib import Path

import torch
from torch import nn

FORMAT = "cnnbook-checkpoint"
VERSION = 1




def _atomic(path: str | os.PathLike, mode: str, write) -> None:
    """Call ``write(fh)`` on a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic on POSIX and Windows, so a reader (or a crash at
    any moment) sees either the old complete file or the new complete file,
    never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_save(obj, path: str | os.PathLike) -> None:
    """``torch.save`` of ``obj`` to ``path``, atomically (checkpoints)."""
    _atomic(path, "wb", lambda fh: torch.save(obj, fh))


def atomic_write_text(text: str, path: str | os.PathLike) -> None:
    """``text`` to ``path``, atomically (history.json)."""
    _atomic(path, "w", lambda fh: fh.write(text))


def atomic_write_json(obj, path: str | os.PathLike, indent: int = 1) -> None:
    """``obj`` as JSON to ``path``, atomically (results of examples and benchmarks)."""
    atomic_write_text(json.dumps(obj, indent=indent), path)


def rng_state() -> dict:
    """Every generator's state as tensors and lists (safe for ``weights_only`` loading)."""
    import numpy as np

    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype("int64")),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "gauss": float(np_state[4]),
        },
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import numpy as np

    torch.set_rng_state(state["torch"])
    n = state.get("numpy")
    if n is not None:
        keys = n["keys"].numpy().astype("uint32")
        np.random.set_state(("MT19937", keys, n["pos"], n["has_gauss"], n["gauss"]))
    p = state.get("python")
    if p is not None:
        random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if (
        "cuda" in state
        and torch.cuda.is_available()
        and len(state["cuda"]) == torch.cuda.device_count()
    ):
        torch.cuda.set_rng_state_all(state["cuda"])


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
    return ckpt


def check_model_matches(model: nn.Module, ckpt: dict, path, model_name: str | None = None) -> None:
    """Refuse a checkpoint whose tensors do not fit ``model`` (another architecture or class count)."""
    saved_name = ckpt.get("config", {}).get("model")
    if model_name and saved_name and model_name != saved_name:
        raise CheckpointError(
            f"{path} holds a {saved_name!r} model, not {model_name!r}; use the same --model or another --out"
        )
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    saved = {k: tuple(v.shape) for k, v in ckpt["model"].items()}
    if own != saved:
        missing = sorted(set(own) ^ set(saved))
        wrong = sorted(k for k in set(own) & set(saved) if own[k] != saved[k])
        detail = f"first differing tensor: {(missing or wrong)[0]}"
        raise CheckpointError(f"{path} was written for a different model ({detail})")
