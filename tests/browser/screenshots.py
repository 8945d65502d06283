"""Screenshot every page of the built site, light and dark, at 1280 and 390 px.

    python tests/browser/screenshots.py [--site site] [--out artifacts/screenshots/pages]

Writes ``<out>/<width>-<scheme>/<page>.png`` (whole pages) for a person to
look at; ``make browser SCREENSHOTS=1`` runs it after the browser test. The
output folder is git-ignored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import layout  # noqa: E402
from harness import chromium, page_url, serve, site_pages  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCHEMES = ("light", "dark")
WIDTHS = {"1280": layout.WIDE, "390": layout.NARROW}


def _slug(path: str) -> str:
    return "home" if path == "." else path.replace("/", "_")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "screenshots" / "pages")
    parser.add_argument(
        "--page", action="append", help="only this page (repeatable), e.g. vgg/blocks"
    )
    args = parser.parse_args(argv)
    if not (args.site / "index.html").exists():
        print(f"{args.site} holds no built site; run `make build` first", file=sys.stderr)
        return 1
    pages = args.page or site_pages(args.site)
    with serve(args.site) as base, chromium() as browser:
        for scheme in SCHEMES:
            for width, viewport in WIDTHS.items():
                # The theme follows the system's colour scheme on a first visit.
                context = browser.new_context(viewport=viewport, color_scheme=scheme)
                pg = context.new_page()
                folder = args.out / f"{width}-{scheme}"
                folder.mkdir(parents=True, exist_ok=True)
                for path in pages:
                    pg.goto(page_url(base, path), wait_until="networkidle", timeout=120000)
                    # Lazy figures load once scrolled to; a whole-page shot needs them all.
                    pg.evaluate(
                        """() => Promise.all([...document.images].map((i) => {
                             i.loading = 'eager';
                             return i.decode().catch(() => null);
                           }))"""
                    )
                    pg.screenshot(
                        path=str(folder / f"{_slug(path)}.png"), full_page=True, timeout=120000
                    )
                context.close()
                print(f"{folder}: {len(pages)} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
