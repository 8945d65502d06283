"""`make help` is generated from the Makefile, so it must list every target.

A target is in `make help` when its rule line ends with a `## description`
comment; `.PHONY` must name exactly those targets, so a new target without a
help line, or a `.PHONY` entry for a target that no longer exists, fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


def _phony(text: str) -> set[str]:
    joined = text.replace("\\\n", " ")
    names: set[str] = set()
    for line in joined.splitlines():
        if line.startswith(".PHONY:"):
            names.update(line.split(":", 1)[1].split())
    return names


def _targets(text: str) -> dict[str, str | None]:
    """Every explicit rule's target name with its `## ` help text (None when it has none)."""
    targets: dict[str, str | None] = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z][a-z-]*):(?!=)([^#]*)(?:## (.+))?$", line)
        if m:
            targets[m.group(1)] = m.group(3)
    return targets


def test_phony_names_exactly_the_targets_with_help() -> None:
    text = MAKEFILE.read_text(encoding="utf-8")
    phony, targets = _phony(text), _targets(text)
    assert phony, "no .PHONY line found"
    assert phony - targets.keys() == set(), ".PHONY names targets that do not exist"
    undocumented = sorted(t for t in phony if not targets.get(t))
    assert undocumented == [], "targets without a `## ` help line"
    helped = {t for t, h in targets.items() if h}
    assert helped - phony == set(), "targets with help that are missing from .PHONY"


def test_parsers_catch_drift() -> None:
    drifted = ".PHONY: help gone\nhelp: ## list\nnew: help\n\techo\n"
    assert _phony(drifted) - _targets(drifted).keys() == {"gone"}
    assert _targets(drifted)["new"] is None


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_phony_target() -> None:
    out = subprocess.run(
        ["make", "--no-print-directory", "-f", str(MAKEFILE), "help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=MAKEFILE.parent,
    ).stdout
    listed = {line.split()[1] for line in out.splitlines() if line.strip().startswith("make ")}
    assert listed == _phony(MAKEFILE.read_text(encoding="utf-8"))
