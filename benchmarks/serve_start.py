"""Seconds from `make serve` to the book's first page, and how many pages executed.

    python benchmarks/serve_start.py                 # as the checkout stands (warm once built)
    make clean && python benchmarks/serve_start.py   # cold: every page executes

Starts ``mkdocs serve`` as `make serve` does (one compute thread, ``--dirty``),
asks for the home page until it answers 200, then stops the server. The
execution cache (tools/exec_cache.py) decides how many notebook pages execute;
the script reads that count from the server's log and writes it with the time.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from cnnbook import runinfo
from cnnbook.io import write_json

ROOT = Path(__file__).resolve().parents[1]
_COUNT = re.compile(r"execution cache: (\d+) of (\d+) notebook pages execute")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def time_to_first_page(port: int, timeout: float, threads: str) -> dict:
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, OMP_NUM_THREADS=threads, PYTHONHASHSEED="0", NO_MKDOCS_2_WARNING="1")
    cmd = [sys.executable, "-m", "mkdocs", "serve", "--dev-addr", f"127.0.0.1:{port}", "--dirty"]
    with tempfile.TemporaryFile(mode="w+") as log:
        start = time.perf_counter()
        # Its own process group: stopping it stops the kernels it started too.
        server = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            while not _answers(url):
                if server.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"mkdocs serve stopped:\n{log.read()[-2000:]}")
                if time.perf_counter() - start > timeout:
                    raise SystemExit(f"no page at {url} after {timeout:.0f} s")
                time.sleep(0.5)
            seconds = time.perf_counter() - start
        finally:
            # Ctrl-C, as a reader stops it: the server removes its temporary site.
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.seek(0)
        counts = _COUNT.findall(log.read())
    executed, pages = (int(n) for n in counts[0]) if counts else (None, None)
    return {"seconds": round(seconds, 1), "pages_executed": executed, "notebook_pages": pages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait")
    parser.add_argument("--threads", default="1", help="OMP_NUM_THREADS, as `make serve`")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts/serve-start.json")
    args = parser.parse_args()
    result = time_to_first_page(args.port, args.timeout, args.threads)
    print(
        f"first page after {result['seconds']} s; "
        f"{result['pages_executed']} of {result['notebook_pages']} notebook pages executed"
    )
    write_json({**result, "threads": args.threads, "runinfo": runinfo.info()}, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
