"""Run linkchecker on the built site, served over HTTP on 127.0.0.1.

linkchecker started as root drops its privileges to ``nobody``, which then
cannot read a checkout in a private folder (CI clones into one). Serving
``site/`` from this process, which keeps its rights, avoids that and checks
the site the way a browser sees it.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # linkchecker may close a connection early; that is not a site error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main() -> int:
    site = ROOT / "site"
    if not (site / "index.html").exists():
        print("site/ is not built; run `make build` first", file=sys.stderr)
        return 2
    handler = functools.partial(_Quiet, directory=str(site))
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    linkchecker = Path(sys.executable).with_name("linkchecker")
    config = str(ROOT / "tests" / "linkcheckerrc")
    cmd = [str(linkchecker), "--config", config, "--no-status", *sys.argv[1:], url]
    try:
        return subprocess.run(cmd).returncode
    finally:
        server.shutdown()


if __name__ == "__main__":
    raise SystemExit(main())
