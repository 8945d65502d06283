"""Find links to missing anchors in a built static site.

linkchecker's anchor plugin re-reads a page for every link that points into
it, which takes minutes on notebook pages of a megabyte each; this parses
each page once.
"""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)
            elif key == "href" and value and tag == "a":
                self.links.append(value)


def _parse(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


def _target(site: Path, page: Path, href: str) -> tuple[Path | None, str]:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None, ""
    page_dir = page.parent.relative_to(site).as_posix()
    rel = posixpath.normpath(posixpath.join(page_dir, unquote(parts.path))) if parts.path else None
    target = page if rel is None else site / rel
    if target.is_dir():
        target = target / "index.html"
    return target, unquote(parts.fragment)


def broken_anchors(site: Path, skip: tuple[str, ...] = ("assets/", "vendor/")) -> list[str]:
    """Every ``page: href`` whose #fragment names no element of the target page."""
    pages = sorted(
        p for p in site.rglob("*.html") if not p.relative_to(site).as_posix().startswith(skip)
    )
    parsed = {p: _parse(p) for p in pages}
    problems = []
    for page, found in parsed.items():
        for href in found.links:
            target, fragment = _target(site, page, href)
            if target is None or not fragment or target.suffix != ".html":
                continue
            ids = parsed[target].ids if target in parsed else None
            if ids is None:
                problems.append(f"{page.relative_to(site)}: {href} (no such page)")
            elif fragment not in ids:
                problems.append(f"{page.relative_to(site)}: {href} (no anchor {fragment!r})")
    return problems
