"""The built site in a real browser: it loads, it stays on its own origin,
search works, math is typeset, the computed figures are real images, and
every page reads well at 1280 px and on a phone (checks in layout.py)."""

from __future__ import annotations

from pathlib import Path

import layout
import pytest
from harness import page_url, site_pages

pytestmark = pytest.mark.browser

SITE = Path(__file__).resolve().parents[2] / "site"
PAGES = site_pages(SITE)


def _open(page, site_url, path):
    url = page_url(site_url, path)
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.ok, f"{url} answered {response and response.status}"
    return url


def _slug(path):
    return "home" if path == "." else path.replace("/", "_")


def test_site_has_the_expected_pages():
    assert "." in PAGES and "vgg/blocks" in PAGES, PAGES


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_cleanly_offline_and_reads_well(page, site_url, shots_dir, path):
    # One visit per page: the checks at 390 px run after resizing the same page.
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
    # The one provenance line of the page is the footer the template adds.
    footers = page.locator(".cnnbook-provenance").count()
    problems = [f"{footers} provenance footers"] if footers != 1 else []
    problems += [
        *layout.page_problems(page),
        *(f"at 1280 px: {p}" for p in layout.wide_problems(page) + layout.style_problems(page)),
    ]
    page.set_viewport_size(layout.NARROW)
    page.wait_for_timeout(200)
    problems += [
        f"at 390 px: {p}" for p in layout.narrow_problems(page) + layout.style_problems(page)
    ]
    assert problems == [], f"{path}:\n" + "\n".join(problems)


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


def test_notebook_figures_are_lazy_files_and_the_notebook_css_is_shared(page, site_url):
    _open(page, site_url, "vgg/blocks")
    images = page.locator(".jp-RenderedImage img")
    assert images.count() >= 1, "the VGG blocks page shows no computed figure"
    srcs = images.evaluate_all("(imgs) => imgs.map((i) => i.getAttribute('src'))")
    assert all(s.startswith("figure-") and s.endswith(".png") for s in srcs), srcs
    assert images.evaluate_all("(imgs) => imgs.every((i) => i.loading === 'lazy')")
    images.evaluate_all("(imgs) => imgs.forEach((i) => { i.loading = 'eager'; })")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-RenderedImage img')].every((i) => i.complete)"
    )
    widths = images.evaluate_all("(imgs) => imgs.map((i) => i.complete ? i.naturalWidth : 0)")
    assert all(w > 0 for w in widths), widths
    # JupyterLab's rules come from the shared stylesheet, not from the page.
    inline = page.evaluate(
        "[...document.querySelectorAll('article style')].map((s) => s.textContent.length)"
    )
    assert all(n < 10_000 for n in inline), inline
    assert (
        page.locator('link[rel=stylesheet][href$="assets/stylesheets/notebook.css"]').count() == 1
    )
    prompt = page.evaluate(
        "getComputedStyle(document.querySelector('.jupyter-wrapper'))"
        ".getPropertyValue('--jp-cell-prompt-width').trim()"
    )
    assert prompt == "64px", "the notebook stylesheet is not applied"


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
