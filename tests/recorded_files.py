"""A recorded-result file as `cnnbook results record` writes it, around rows a test made."""

from __future__ import annotations

from cnnbook.results import record
from cnnbook.results.registry import KINDS

#: Stand-in hardware and versions: the check wants the fields, not their values.
RUNINFO = dict.fromkeys(("torch", "torchvision", "python", "cpu", "gpu", "date"), "x")


def recorded_file(kind: str, made: dict, seeds: tuple[int, ...], jobs: int = 1) -> dict:
    """``made`` (an experiment's record() output) with the fields the recorder adds."""
    return {
        "command": record.record_command(kind, "cpu", seeds, jobs, None),
        "runinfo": RUNINFO,
        "code": KINDS[kind].fingerprint(),
        "device": "cpu",
        **made,
    }
