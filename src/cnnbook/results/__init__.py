"""Recorded results: the JSON files under ``docs/results/`` that pages show.

A recorded result is a run too long to repeat at every build (a benchmark,
an experiment at a scale that means something), stored with the command
that made it, the hardware it ran on and a fingerprint of the code that
produced it (:mod:`~cnnbook.results.fingerprint`). ``cnnbook results
record NAME`` makes one (:mod:`~cnnbook.results.record`); ``cnnbook results
check`` proves every stored file still matches the code
(:mod:`~cnnbook.results.check`). Pages find the files here rather than by a
path relative to wherever the page happens to be executed from.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The checkout this package is installed from (an editable install).
ROOT = Path(__file__).resolve().parents[3]
#: ``docs/results/`` of that checkout.
RESULTS_DIR = ROOT / "docs" / "results"


def find(pattern: str = "*.json", root: Path | None = None) -> list[Path]:
    """The recorded result files matching ``pattern``, sorted by name."""
    return sorted((root or RESULTS_DIR).glob(pattern))


def load(path: Path) -> dict:
    """One recorded result as a dict."""
    return json.loads(Path(path).read_text())


def kind_device(path: Path) -> tuple[str, str]:
    """``(kind, device)`` of a result file named ``<kind>-<device>.json``."""
    kind, _, device = Path(path).stem.rpartition("-")
    return (kind, device) if kind else (device, "")


def by_device(kind: str, root: Path | None = None) -> dict[str, dict]:
    """Every stored result of one kind, keyed by device (``cpu``, ``gpu``), in name order."""
    return {kind_device(p)[1]: load(p) for p in find(f"{kind}-*.json", root)}
