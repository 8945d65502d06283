"""A forked page kernel (tools/fork_kernel.py) behaves as a freshly started one.

The build runs every page in such a kernel, so whatever would differ from
``python -m ipykernel_launcher`` would differ on the published site: figures
that do not show, the wrong working directory or environment, a page's
subprocesses failing, kernels left running after the build.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

PAGE = [
    "import os, subprocess, sys, matplotlib.pyplot as plt, helper",
    "print(os.getcwd(), os.environ['PAGE_VAR'], helper.VALUE, sep='|')",
    # A page's own subprocess must be reaped normally (no inherited SIGCHLD=SIG_IGN).
    "done = subprocess.run([sys.executable, '-c', 'print(6*7); exit(3)'], capture_output=True)",
    "print(done.stdout.decode().strip(), done.returncode)",
    "grand = open(f'/proc/{os.getppid()}/stat').read().rsplit(')', 1)[1].split()[1]",
    "print(os.getppid(), grand, sep='|')",
    "plt.plot([0, 1], [1, 0]); plt.show()",
]


def _load():
    spec = importlib.util.spec_from_file_location("fork_kernel", ROOT / "tools/fork_kernel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hook(tmp_path_factory):
    """The hook as the build uses it: server started, kernelspec on JUPYTER_PATH."""
    module = _load()
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "MPLBACKEND")}
    os.environ.pop("MPLBACKEND", None)  # a page gets the kernel's inline backend
    module.on_pre_build(config=None)
    yield module
    module.on_post_build(config=None)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def execute(folder: Path) -> list[dict]:
    (folder / "helper.py").write_text("VALUE = 'from the page folder'\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in PAGE])
    os.environ["PAGE_VAR"] = "set by the build"
    try:
        client = NotebookClient(
            nb, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        )
        client.execute()
    finally:
        del os.environ["PAGE_VAR"]
    return [cell.outputs for cell in nb.cells]


def test_forked_kernel_runs_a_page_like_a_fresh_one(hook, tmp_path):
    outputs = execute(tmp_path)
    text = ["".join(o.get("text", "") for o in cell).strip() for cell in outputs]
    assert text[1] == f"{tmp_path}|set by the build|from the page folder"
    assert text[3] == "42 3"
    parent, grandparent = map(int, text[5].split("|"))
    # Forked: the kernel's parent is a monitor the server forked, not this process.
    assert grandparent == hook._server.pid
    assert any("image/png" in o.get("data", {}) for o in outputs[6]), outputs[6]


def test_without_a_server_the_client_is_an_ordinary_kernel(hook, tmp_path, monkeypatch):
    monkeypatch.delenv(hook.SOCKET_VAR)
    outputs = execute(tmp_path)
    parent, _ = map(int, "".join(o["text"] for o in outputs[5]).split("|"))
    assert parent == os.getpid()  # jupyter_client started it itself
    assert any("image/png" in o.get("data", {}) for o in outputs[6])


def test_killing_the_client_kills_its_kernel(hook, tmp_path):
    conn = tmp_path / "kernel.json"
    from jupyter_client.connect import write_connection_file

    write_connection_file(str(conn))
    client = subprocess.Popen(
        [sys.executable, str(ROOT / "tools/fork_kernel.py"), "-f", str(conn)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kernel = _wait_for_kernel(hook._server.pid)
    client.send_signal(signal.SIGKILL)
    client.wait()
    deadline = time.monotonic() + 10
    while _running(kernel):
        assert time.monotonic() < deadline, "the kernel outlived its client"
        time.sleep(0.05)


def _running(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for_kernel(server: int) -> int:
    """The pid of a kernel forked by the server (a child of one of its monitors)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for proc in Path("/proc").glob("[0-9]*"):
            if _parent(_parent(int(proc.name))) == server and _running(int(proc.name)):
                return int(proc.name)
        time.sleep(0.05)
    raise AssertionError("no kernel was forked")


def _parent(pid: int) -> int:
    if pid <= 0:
        return -1
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


def test_the_switch_turns_the_hook_off(hook, monkeypatch):
    module = _load()
    monkeypatch.setenv(module.SWITCH_VAR, "0")
    monkeypatch.delenv(module.SOCKET_VAR, raising=False)
    module.on_pre_build(config=None)
    try:
        assert module._server is None and module.SOCKET_VAR not in os.environ
    finally:
        module.on_post_build(config=None)
