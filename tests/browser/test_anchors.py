"""Every #fragment link in the built site points at an existing element."""

from pathlib import Path

import pytest
from anchors import broken_anchors

SITE = Path(__file__).resolve().parents[2] / "site"


@pytest.mark.browser
def test_built_site_has_no_broken_anchors():
    if not (SITE / "index.html").exists():
        pytest.fail("site/ is not built; run `make build` first")
    assert broken_anchors(SITE) == []


def _write(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")


def test_checker_finds_a_missing_anchor(tmp_path):
    _write(tmp_path / "index.html", '<a href="a/#here">ok</a><a href="a/#gone">bad</a>')
    _write(tmp_path / "a" / "index.html", '<h2 id="here">x</h2><a href="#top">self</a>')
    problems = broken_anchors(tmp_path)
    assert sorted(problems) == [
        "a/index.html: #top (no anchor 'top')",
        "index.html: a/#gone (no anchor 'gone')",
    ]


def test_checker_accepts_a_clean_site(tmp_path):
    _write(tmp_path / "index.html", '<a href="a/#here">ok</a><a href="https://x.org/#y">ext</a>')
    _write(tmp_path / "a" / "index.html", '<p><a name="here"></a></p>')
    assert broken_anchors(tmp_path) == []
