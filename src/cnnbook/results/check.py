"""``cnnbook results check``: every recorded result still matches the code.

For each file in ``docs/results/`` it checks that

* the schema holds (``command``, ``runinfo``, ``code`` and the kind's own
  fields, every row complete);
* its ``code`` fingerprint equals the current code's; otherwise the file is
  stale, and the problem names the command that re-makes it;
* an experiment's stored ``setup`` equals the one its code now defines;
* for a CPU result, replaying the first epoch of its first row gives the
  recorded curve's first point (the CPU run is deterministic for a given
  thread count), so a number edited by hand or made by other code is caught.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from cnnbook.results import RESULTS_DIR, ROOT, kind_device
from cnnbook.results.registry import KINDS, Kind

#: Fields every recorded result has, and the runinfo fields a page shows.
COMMON = ("command", "runinfo", "code")
RUNINFO = ("torch", "torchvision", "python", "cpu", "gpu", "date")
#: Relative tolerance of a replay: the same code on the same thread count
#: agrees to the last bits on one machine; another CPU may differ slightly.
REPLAY_RTOL = 1e-4


def _as_json(value):
    """``value`` as it reads back from a JSON file (tuples become lists)."""
    return json.loads(json.dumps(value))


def _schema(result: dict, kind: Kind) -> list[str]:
    problems = [f"missing field {f!r}" for f in (*COMMON, *kind.required) if f not in result]
    info = result.get("runinfo")
    if isinstance(info, dict):
        problems += [f"runinfo lacks {f!r}" for f in RUNINFO if f not in info]
    rows = result.get("rows")
    if "rows" in kind.required and not (isinstance(rows, list) and rows):
        problems.append("'rows' is not a non-empty list")
    elif isinstance(rows, list):
        for i, row in enumerate(rows):
            missing = [f for f in kind.row_fields if f not in row]
            if missing:
                problems.append(f"row {i} lacks {', '.join(map(repr, missing))}")
    return problems


def _consistent(result: dict) -> list[str]:
    """A row's final values are the last points of its curves."""
    problems = []
    for i, row in enumerate(result.get("rows", [])):
        for final, curve in (
            ("final_train_error", "train_error"),
            ("final_val_error", "val_error"),
        ):
            if (
                final in row
                and row.get(curve)
                and not math.isclose(row[final], row[curve][-1], rel_tol=1e-9, abs_tol=1e-12)
            ):
                problems.append(f"row {i}: {final} {row[final]} is not its curve's last point")
    return problems


def _replayed(result: dict, kind: Kind) -> list[str]:
    if kind.replay is None or result.get("device", "cpu") != "cpu":
        return []
    again = kind.replay(result)
    first = result["rows"][0]
    return [
        f"replaying {first.get('model')} seed {first.get('seed')} gives {name} {value:.6g} "
        f"for the first epoch, the file says {first[name][0]:.6g}"
        for name, value in again.items()
        if not math.isclose(value, first[name][0], rel_tol=REPLAY_RTOL, abs_tol=1e-9)
    ]


def check_file(
    path: Path,
    kinds: Mapping[str, Kind] = KINDS,
    root: Path = ROOT,
    replay: bool = True,
) -> list[str]:
    """The problems of one result file, each one line that starts with its name."""
    name = Path(path).name
    try:
        result = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        return [f"{name}: not readable as JSON ({exc})"]
    kind_name = kind_device(path)[0]
    kind = kinds.get(kind_name)
    if kind is None:
        return [f"{name}: no kind of result is named {kind_name!r} (see cnnbook.results.registry)"]
    problems = _schema(result, kind)
    if result.get("dry_run"):
        problems.append("a dry run (its numbers mean nothing) is stored as a result")
    if not problems and result["code"] != kind.fingerprint(root):
        problems.append(f"stale: made by other code than today's; re-run: {result['command']}")
    if not problems and kind.setup is not None and result["setup"] != _as_json(kind.setup()):
        problems.append(f"its setup differs from the experiment's; re-run: {result['command']}")
    problems += _consistent(result) if not problems else []
    if not problems and replay:
        problems += _replayed(result, kind)
    return [f"{name}: {p}" for p in problems]


def check(
    folder: Path = RESULTS_DIR,
    kinds: Mapping[str, Kind] = KINDS,
    root: Path = ROOT,
    replay: bool = True,
) -> list[str]:
    """The problems of every ``*.json`` in ``folder`` (an empty list: all good)."""
    problems: list[str] = []
    for path in sorted(Path(folder).glob("*.json")):
        problems += check_file(path, kinds, root, replay)
    return problems
