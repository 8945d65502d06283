"""Recorded results: the JSON files under ``docs/results/`` that pages show.

A recorded result is a run too long to repeat at every build (a benchmark,
a full-scale experiment), stored with the command that made it and the
hardware it ran on. Pages find them here rather than by a path relative to
wherever the page happens to be executed from.
"""

from __future__ import annotations

import json
from pathlib import Path

#: ``docs/results/`` of the checkout this package is installed from (editable install).
RESULTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "results"


def find(pattern: str = "*.json", root: Path | None = None) -> list[Path]:
    """The recorded result files matching ``pattern``, sorted by name."""
    return sorted((root or RESULTS_DIR).glob(pattern))


def load(path: Path) -> dict:
    """One recorded result as a dict."""
    return json.loads(Path(path).read_text())
