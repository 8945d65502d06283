"""The home page's chapter map, the section landing pages and the bibliography agree with
the nav in mkdocs.yml: no page is left out of the map, and no paper loses its anchor."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LINK = re.compile(r"\]\(([^)#\s]+\.(?:md|py))(?:#[^)]*)?\)")


class _Loader(yaml.SafeLoader):
    pass


# mkdocs.yml names Python objects (a mermaid fence formatter); the nav does not need them.
_Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def _nav() -> list:
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)["nav"]


def _pages(items) -> list[str]:
    pages = []
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages.extend(_pages(value) if isinstance(value, list) else [value])
    return pages


def _links(page: str) -> set[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    base = posixpath.dirname(page)
    return {posixpath.normpath(posixpath.join(base, target)) for target in LINK.findall(text)}


def _section(title: str) -> list[str]:
    for item in _nav():
        if isinstance(item, dict) and title in item:
            return _pages(item[title])
    raise AssertionError(f"no section {title!r} in the nav")


def test_every_nav_page_exists():
    missing = [page for page in _pages(_nav()) if not (DOCS / page).is_file()]
    assert missing == []


def test_chapter_map_links_every_page_in_the_nav():
    pages = set(_pages(_nav())) - {"index.md"}
    assert pages - _links("index.md") == set()


@pytest.mark.parametrize("section", ["VGG", "ResNet"])
def test_section_starts_with_a_landing_page_that_links_each_of_its_pages(section):
    pages = _section(section)
    landing = f"{section.lower()}/index.md"
    assert pages[0] == landing, "navigation.indexes needs the index page first"
    assert set(pages[1:]) - _links(landing) == set()


ARXIV = {
    "simonyan2015vgg": "1409.1556",
    "he2016resnet": "1512.03385",
    "he2016identity": "1603.05027",
    "he2015delving": "1502.01852",
    "ioffe2015batchnorm": "1502.03167",
    "goyal2017largebatch": "1706.02677",
    "luo2016erf": "1701.04128",
    "selvaraju2017gradcam": "1610.02391",
    "yosinski2014transferable": "1411.1792",
    "zeiler2014visualizing": "1311.2901",
    "zhou2016cam": "1512.04150",
    "kokhlikyan2020captum": "2009.07896",
}


def _entries() -> dict[str, str]:
    """Each bibliography heading's anchor, with the text up to the next heading."""
    text = (DOCS / "reference/bibliography.md").read_text(encoding="utf-8")
    parts = re.split(r"^## .*\{#([a-z0-9]+)\}\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_bibliography_has_one_anchored_entry_per_paper_with_its_arxiv_link():
    entries = _entries()
    for anchor, arxiv in ARXIV.items():
        assert f"(https://arxiv.org/abs/{arxiv})" in entries[anchor], anchor
    assert "(https://d2l.ai)" in entries["zhang2023d2l"]
    assert "(https://github.com/ultralytics/yolov5)" in entries["ultralytics2020yolov5"]
    assert len(entries) == len(ARXIV) + 2


def test_bibliography_is_in_the_nav():
    assert "reference/bibliography.md" in _section("Reference")
