"""Print the path of a Chromium-family browser for the browser test, or exit 1.

``CHROMIUM`` in the environment wins; then Debian's ``chromium``, then the
names other distributions and CI images use.
"""

from __future__ import annotations

import os
import shutil
import sys

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


if __name__ == "__main__":
    path = find()
    if path is None:
        print("no chromium found: install Debian's chromium or set CHROMIUM", file=sys.stderr)
        sys.exit(1)
    print(path)
