"""MkDocs hook: page kernels start as forks of a process that has imported torch already.

Every notebook page runs in a fresh Jupyter kernel, and a fresh Python spends
about five seconds of CPU importing torch, torchvision, matplotlib and IPython
before the page's first line runs: over a minute of a build of the book. Here
the build starts one *server* that imports those modules once (and runs nothing
else), and the ``python3`` kernel the pages ask for is a small *client* that has
the server fork a kernel for it. The fork is the kernel a page would have had:
a new process, with the client's working directory, environment and standard
streams, started by ipykernel exactly as ``python -m ipykernel_launcher`` does,
so a page cannot tell the difference except in time.

The pieces, all in this file:

* the hook (``on_pre_build``, on Linux) starts the server and puts a ``python3``
  kernelspec whose command is this file's client first on ``JUPYTER_PATH``;
  ``on_post_build``, ``on_build_error`` and exit stop it;
* the server (``python fork_kernel.py serve SOCKET``) imports :data:`PRELOAD`,
  then for each client forks a *monitor*, which forks the kernel, forwards the
  signals the client receives to it, kills it if the client dies, and reports
  its exit status;
* the client (``python fork_kernel.py -f CONNECTION_FILE``) is what Jupyter
  starts as the kernel process. Without a server (``FORK_KERNEL_SOCKET`` unset
  or not answering) it becomes an ordinary ``ipykernel_launcher``.

Forking a process that has imported torch and numpy is what torch's
DataLoader does for each of its workers; the server computes nothing, so no
thread pool of torch's has started when it forks.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Set by the hook for the kernels it starts: where the server listens, and its pid.
SOCKET_VAR = "FORK_KERNEL_SOCKET"
PID_VAR = "FORK_KERNEL_SERVER"
#: ``CNNBOOK_FORK_KERNELS=0`` turns the hook off: every kernel starts anew.
SWITCH_VAR = "CNNBOOK_FORK_KERNELS"
#: What the pages import; a module the server imports is imported once per build.
PRELOAD = (
    "torch",
    "torchvision",
    "numpy",
    "matplotlib.pyplot",  # chooses no backend until a figure is made
    "torchinfo",
    "IPython",
    "ipykernel.kernelapp",
    "cnnbook.show",
    "cnnbook.plots",
    "cnnbook.models",
    "cnnbook.data",
    "cnnbook.engine",
    "cnnbook.analysis.complexity",
)
#: Forwarded from the client to the kernel.
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1)
_HEADER = struct.Struct("!I")


# -- the hook ---------------------------------------------------------------

_server: subprocess.Popen[bytes] | None = None
_tmp: tempfile.TemporaryDirectory[str] | None = None


def on_pre_build(config: Any) -> None:
    global _server, _tmp
    _stop()
    if sys.platform != "linux" or os.environ.get(SWITCH_VAR) == "0":
        # macOS frameworks are not safe to fork into a process that goes on
        # running (Python itself spawns there), and Windows has no fork: pages
        # start in ordinary kernels, as they do when the switch is set to 0.
        return
    _tmp = tempfile.TemporaryDirectory(prefix="cnnbook-kernels-")
    path = Path(_tmp.name)
    sock = path / "server.sock"
    spec = path / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (forked)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(path), *filter(None, [os.environ.get("JUPYTER_PATH")])]
    )
    os.environ[SOCKET_VAR] = str(sock)
    _server = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "serve", str(sock)],
        stdin=subprocess.DEVNULL,
    )
    os.environ[PID_VAR] = str(_server.pid)


def on_post_build(config: Any) -> None:
    _stop()


def on_build_error(error: Exception) -> None:
    _stop()


def _stop() -> None:
    global _server, _tmp
    if _server is not None:
        _server.terminate()
        _server.wait()
        _server = None
    if _tmp is not None:
        _tmp.cleanup()
        _tmp = None
    os.environ.pop(SOCKET_VAR, None)
    os.environ.pop(PID_VAR, None)


atexit.register(_stop)


# -- the wire: a length-prefixed JSON request, with the client's stdio --------


def _send_request(sock: socket.socket, request: dict[str, Any]) -> None:
    body = json.dumps(request).encode()
    socket.send_fds(sock, [_HEADER.pack(len(body))], [0, 1, 2])
    sock.sendall(body)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise ConnectionError("the client went away")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _recv_request(sock: socket.socket) -> tuple[dict[str, Any], list[int]]:
    header, fds, _, _ = socket.recv_fds(sock, _HEADER.size, 3)
    (size,) = _HEADER.unpack(header)
    return json.loads(_recv_exact(sock, size)), fds


# -- the client -------------------------------------------------------------


def client(argv: list[str]) -> int:
    path = os.environ.get(SOCKET_VAR)
    sock = _connect(path) if path else None
    if sock is None:  # no server: be an ordinary kernel
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])
    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
    for name in (SOCKET_VAR, PID_VAR):  # the page's own subprocesses start normally
        request["env"].pop(name, None)
    _send_request(sock, request)

    def forward(signum: int, frame: object) -> None:
        sock.sendall(bytes([signum]))

    for signum in SIGNALS:
        signal.signal(signum, forward)
    status = b""
    while len(status) < 4:
        try:
            chunk = sock.recv(4 - len(status))
        except InterruptedError:
            continue
        if not chunk:
            return 1
        status += chunk
    return int.from_bytes(status, "big", signed=True)


def _connect(path: str) -> socket.socket | None:
    """A connection to the server, waiting while it starts; None if it is gone."""
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if not _alive(int(os.environ.get(PID_VAR, "0"))):
                return None
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    """The server is running (a server that failed stays a zombie of the build)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat")
        return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# -- the server -------------------------------------------------------------


def serve(path: str) -> None:
    import importlib

    # As ipykernel does when it starts; matplotlib reads it when imported.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the system
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = path + ".tmp"
    listener.bind(tmp)
    listener.listen(64)
    os.replace(tmp, path)  # clients connect only once the server is ready
    while True:
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os._exit(_monitor(conn))
        conn.close()


def _monitor(conn: socket.socket) -> int:
    request, fds = _recv_request(conn)
    pid = os.fork()
    if pid == 0:
        conn.close()
        os._exit(_kernel(request, fds))
    for fd in fds:
        os.close(fd)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(OSError):
                conn.sendall(code.to_bytes(4, "big", signed=True))
            return 0
        readable, _, _ = select.select([conn], [], [], 0.05)
        if readable:
            data = conn.recv(16)
            for signum in data or [signal.SIGKILL]:  # the client died: so does its kernel
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)
            if not data:
                os.waitpid(pid, 0)
                return 0


def _kernel(request: dict[str, Any], fds: list[int]) -> int:
    """Become ``python -m ipykernel_launcher ARGV`` as the client would have started it."""
    for fd, target in zip(fds, (0, 1, 2), strict=True):
        os.dup2(fd, target)
        os.close(fd)
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    del sys.path[0]  # this file's folder; ipykernel adds the working directory back
    # ipykernel read JPY_PARENT_PID when the server imported it; the parent it
    # should watch (and exit with) is this kernel's monitor.
    argv = [*request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
    sys.argv = ["ipykernel_launcher", *argv]
    from ipykernel import kernelapp

    try:
        kernelapp.launch_new_instance(argv=argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    else:
        sys.exit(client(sys.argv[1:]))
