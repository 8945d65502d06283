"""``cnnbook results record NAME``: make a recorded result and write it atomically."""

from __future__ import annotations

import tempfile
from pathlib import Path

from cnnbook import runinfo
from cnnbook.errors import ConfigError
from cnnbook.io import write_json
from cnnbook.results import RESULTS_DIR
from cnnbook.results.registry import KINDS


def recordable() -> list[str]:
    """The kinds the ``record`` command can make (the benchmarks have their own scripts)."""
    return sorted(name for name, kind in KINDS.items() if kind.make is not None)


def record_command(
    name: str, device: str, seeds: tuple[int, ...], jobs: int, out: Path | None
) -> str:
    """The exact command that re-makes a result (stored in the file, shown on pages)."""
    parts = ["cnnbook", "results", "record", name, "--device", device]
    if tuple(seeds) != (0, 1, 2):
        parts += ["--seeds", *map(str, seeds)]
    if jobs != 1:
        parts += ["--jobs", str(jobs)]
    if out is not None:
        parts += ["--out", Path(out).as_posix()]
    return " ".join(parts)


def record(
    name: str,
    device: str = "cpu",
    seeds: tuple[int, ...] = (0, 1, 2),
    jobs: int = 1,
    out: Path | None = None,
    dry_run: bool = False,
) -> Path:
    """Run experiment ``name`` at its recorded scale and write ``<name>-<device>.json``.

    The file carries the command that re-makes it, the hardware and
    versions, and the fingerprint of the code that made it. ``dry_run``
    takes every step of the real run at a scale of seconds and writes to
    ``out`` or a temporary file, never into ``docs/results/``.
    """
    if name not in recordable():
        raise ConfigError(f"no recorded run named {name!r}; choose from {', '.join(recordable())}")
    if len(seeds) < 3:
        raise ConfigError(
            f"a recorded run needs at least 3 seeds to show its spread, got {len(seeds)}"
        )
    kind = KINDS[name]
    code = kind.fingerprint()  # taken before the run: code edited meanwhile makes it stale
    if dry_run and out is not None and Path(out).resolve().parent == RESULTS_DIR.resolve():
        raise ConfigError("a dry run does not write into docs/results/; give another --out")
    made = kind.make(tuple(seeds), device, jobs, dry_run)  # type: ignore[misc]
    file_name = f"{name}-{device.split(':')[0]}.json"
    if out is not None:
        path = Path(out)
    elif dry_run:
        path = Path(tempfile.mkdtemp(prefix="cnnbook-dry-run-")) / file_name
    else:
        path = RESULTS_DIR / file_name
    command = record_command(name, device, seeds, jobs, out)
    write_json(
        {"command": command, "runinfo": runinfo.info(), "code": code, "device": device, **made},
        path,
    )
    return path
