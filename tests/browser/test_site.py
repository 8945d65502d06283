"""The built site in a real browser: it loads, it stays on its own origin,
search works, math is typeset and the computed figures are real images."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SITE = Path(__file__).resolve().parents[2] / "site"
PAGES = sorted(
    p.parent.relative_to(SITE).as_posix()
    for p in SITE.rglob("index.html")
    if not p.relative_to(SITE).as_posix().startswith(("vendor/", "assets/"))
    and p.parent.name != "404"
)


def _open(page, site_url, path):
    url = f"{site_url}/{path}/" if path != "." else f"{site_url}/"
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.ok, f"{url} answered {response and response.status}"
    return url


def _slug(path):
    return "home" if path == "." else path.replace("/", "_")


def test_site_has_the_expected_pages():
    assert "." in PAGES and "vgg/blocks" in PAGES, PAGES


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_cleanly_and_offline(page, site_url, shots_dir, path):
    url = _open(page, site_url, path)
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots_dir / f"{_slug(path)}.png"), full_page=False)
    assert page.offsite == [], f"requests left the site: {page.offsite}"
    assert page.page_errors == [], f"JavaScript errors: {page.page_errors}"
    assert page.console_errors == [], f"console errors: {page.console_errors}"
    # The table of contents is not typeset, so it must not show raw TeX.
    toc = page.locator("nav.md-nav--secondary a").all_inner_texts()
    assert not [t for t in toc if "$" in t or "\\" in t], toc
    if path in NOTEBOOK_PAGES:  # checked here: a second visit per page costs seconds each
        _check_downloads(page, url, path)


def test_math_is_typeset_on_markdown_and_notebook_pages(page, site_url):
    for path in (".", "vgg/blocks"):
        _open(page, site_url, path)
        page.wait_for_selector("mjx-container", state="attached", timeout=15000)
        # Typeset is not enough: the glyphs must be drawn (a formula whose
        # font rules are missing takes up space but shows nothing).
        drawn = page.evaluate(
            """() => Array.from(document.querySelectorAll('mjx-container mjx-c')).slice(0, 20)
                 .map((c) => getComputedStyle(c, '::before').content)"""
        )
        assert drawn and all(c not in ("none", "normal", '""') for c in drawn), (path, drawn)


def test_search_finds_vgg(page, site_url, shots_dir):
    _open(page, site_url, ".")
    page.click("input.md-search__input")
    page.keyboard.type("VGG")
    page.wait_for_selector(".md-search-result__item", timeout=15000)
    assert page.locator(".md-search-result__item").count() > 0
    page.screenshot(path=str(shots_dir / "search.png"))


def test_notebook_figures_are_loaded_images(page, site_url):
    _open(page, site_url, "vgg/blocks")
    images = page.locator(".jp-RenderedImage img")
    assert images.count() >= 1, "the VGG blocks page shows no computed figure"
    widths = images.evaluate_all("(imgs) => imgs.map((i) => i.complete ? i.naturalWidth : 0)")
    assert all(w > 0 for w in widths), widths


def test_mermaid_diagram_renders(page, site_url):
    _open(page, site_url, ".")
    # Material draws each diagram into a closed shadow root of a div.mermaid
    # that replaces the source block, so measure the drawing instead.
    page.wait_for_function(
        "() => { const m = document.querySelector('div.mermaid');"
        " return m !== null && m.getBoundingClientRect().height > 100; }",
        timeout=15000,
    )
    assert page.locator("pre.mermaid").count() == 0, "a diagram was left as source text"


# A notebook page is one whose folder holds the jupytext source mkdocs-jupyter copied.
NOTEBOOK_PAGES = sorted(path for path in PAGES if path != "." and list((SITE / path).glob("*.py")))


def test_site_has_notebook_pages():
    assert "vgg/blocks" in NOTEBOOK_PAGES and "resnet/blocks" in NOTEBOOK_PAGES, NOTEBOOK_PAGES


def _check_downloads(page, url, path):
    """A notebook page's two download buttons name files the site serves; the .ipynb has no outputs."""
    links = page.locator("a.md-content__button[download]")
    hrefs = sorted(links.evaluate_all("(links) => links.map((a) => a.getAttribute('href'))"))
    stem = path.split("/")[-1]
    assert hrefs == [f"{stem}.ipynb", f"{stem}.py"], hrefs
    for href in hrefs:
        response = page.request.get(url + href)
        assert response.ok, f"{url}{href} answered {response.status}"
    nb = page.request.get(url + f"{stem}.ipynb").json()
    assert nb["nbformat"] == 4 and nb["cells"], f"{stem}.ipynb is not a notebook"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] for c in code), f"{stem}.ipynb ships outputs"
