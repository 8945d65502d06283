"""Run a Python command in a forked child of the test process, as if it were started anew.

Starting ``python`` costs about four seconds here before a command does any
work (importing torch, torchvision and matplotlib), and the documented
commands are dozens of small runs. A child forked from a test process that
has already imported them starts at once, and otherwise runs exactly what
the interpreter would: ``sys.argv``, the working directory, the environment
and ``__main__`` are the command's own, its output goes to its own files,
and its exit status is the command's.

Only used where that is safe: a parent that computes on one thread (a fork
copies no thread pool then); otherwise :func:`run` starts a real process.
"""

from __future__ import annotations

import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

#: What every command imports; loading it once in the parent is the saving.
PRELOAD = (
    "matplotlib.pyplot",
    "torchvision",
    "cnnbook.cli",
    "cnnbook.data",
    "cnnbook.engine",
    "cnnbook.plots",
    "cnnbook.experiments.kernel_size",
    "cnnbook.experiments.slimming",
)


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str


#: The ``cnnbook`` console script of this environment (it calls ``cnnbook.cli.main``).
CONSOLE_SCRIPT = str(Path(sys.executable).parent / "cnnbook")


def forkable(argv: list[str]) -> bool:
    """True for ``python script.py``, ``python -m module`` and ``cnnbook``, in a one-thread parent."""
    import torch

    if torch.get_num_threads() != 1:
        return False
    if argv[0] == CONSOLE_SCRIPT:
        return True
    return argv[0] == sys.executable and (argv[1] == "-m" or argv[1].endswith(".py"))


def preload(env: dict[str, str]) -> None:
    """Import what the commands import, with the commands' matplotlib backend."""
    import importlib

    os.environ.setdefault("MPLBACKEND", env.get("MPLBACKEND", "Agg"))
    for name in PRELOAD:
        importlib.import_module(name)


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Completed:
    """Run ``argv`` like ``subprocess.run(..., capture_output=True)``, forked when possible."""
    if not forkable(argv):
        proc = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
        return Completed(proc.returncode, proc.stdout, proc.stderr)
    preload(env)
    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child never returns to pytest
            os._exit(_child(argv, cwd, env, out, err))
        code = _wait(pid, timeout)
        return Completed(code, out.read_text(errors="replace"), err.read_text(errors="replace"))


def _child(argv: list[str], cwd: Path, env: dict[str, str], out: Path, err: Path) -> int:
    try:
        for fd, path in ((1, out), (2, err)):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(target, fd)
            os.close(target)
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115  (lives until os._exit)
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        code = as_main(argv)
    except BaseException:  # anything else is the command's own crash: show it as Python would
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def as_main(argv: list[str]) -> int:
    """What ``python argv[1:]`` does: run the module or script as ``__main__``."""
    try:
        if argv[0] == CONSOLE_SCRIPT:
            from cnnbook.cli import main

            sys.argv = list(argv)
            return main()
        if argv[1] == "-m":
            sys.argv = [argv[2], *argv[3:]]
            runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        else:
            sys.argv = argv[1:]
            sys.path[0] = str(Path(argv[1]).resolve().parent)
            runpy.run_path(argv[1], run_name="__main__")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)  # sys.exit("message") prints it and exits 1
        return 1
    return 0


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise subprocess.TimeoutExpired(str(pid), timeout)
        time.sleep(0.05)
