"""Wall time of each example's default run: what a reader's first command costs.

    python benchmarks/example_defaults.py             # every example in examples/
    python benchmarks/example_defaults.py --repeat 3  # the median of three runs each

Each example runs as a reader starts it, ``python examples/NAME.py`` with no
arguments, in a fresh process (so import time counts), one after another so
that they do not share the cores, each in an empty working folder (where
it writes its ``runs/``). The goal is under 20 s each on a
2-core laptop CPU; the table says which examples meet it. Timings stay out
of the tests: a loaded machine would make such a test fail for no reason.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 20.0


def time_run(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"{'example':34} {'seconds':>8}  under {GOAL_SECONDS:.0f} s")
    for example in sorted((ROOT / "examples").glob("*.py")):
        times = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                times.append(time_run([sys.executable, str(example)], Path(tmp)))
        median = statistics.median(times)
        ok = "yes" if median < GOAL_SECONDS else "NO"
        print(f"{example.name:34} {median:8.1f}  {ok}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
