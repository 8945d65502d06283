"""Each layout check in layout.py reports a page made to break it, and only that.

A small synthetic site stands in for the book: one page that passes every
check and one page per check that breaks exactly it.
"""

from __future__ import annotations

import layout
import pytest
from harness import page_url, serve

pytestmark = pytest.mark.browser

# A page shaped like the theme's: an article as the content column and a
# table of contents whose entries link to heading ids.
_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>body {{ margin: 0; }} article {{ width: 800px; margin: 0 auto; }}
@media (max-width: 600px) {{ article {{ width: auto; }} }}</style></head>
<body><nav class="md-nav md-nav--secondary"><ul>{toc}</ul></nav>
<article>{body}</article></body></html>"""

_ENTRY = '<li><a class="md-nav__link" href="#{id}"><span>{text}</span></a></li>'

_FOOTER = "<p>This page was built with cnnbook 0.1.0; torch 2.9; GPU: none.</p>"

# The passing page also holds what must not be flagged: a table and a code
# block that fit, a scroll box whose content fits it, a formula in a heading
# (MathJax keeps its text in assistive MathML; the entry shows it as plain
# text), a permalink, an API reference heading (listed by the object's own
# name), one provenance line, and, on a phone, a box that scrolls with a
# fading edge and tab labels that scroll beside the theme's own arrows.
_CUE = "mask-image: linear-gradient(to right, #000 80%, transparent)"
_GOOD_BODY = (
    '<h2 id="vgg">The <code>VGG</code> class<a class="headerlink" href="#vgg">¶</a></h2>'
    '<h2 id="at-32">VGG at <mjx-container><mjx-assistive-mml>32×32</mjx-assistive-mml>'
    "</mjx-container></h2>"
    '<div style="overflow-x: auto"><table><caption>Two columns</caption>'
    "<tr><th>a</th><th>b</th></tr></table></div>"
    f'<div style="overflow-x: auto; {_CUE}"><table style="width: 500px">'
    "<tr><th>Cued</th></tr></table></div>"
    '<div class="tabbed-labels" style="overflow-x: auto">'
    '<span style="display: inline-block; width: 500px">CPU GPU</span></div>'
    '<h3 id="m.f" class="doc doc-heading"><code>m.f</code>'
    '<span class="doc doc-labels"><small>property</small></span></h3>'
    "<pre><code>x = 1</code></pre>" + _FOOTER
)
_GOOD_TOC = (
    _ENTRY.format(id="vgg", text="The VGG class")
    + _ENTRY.format(id="at-32", text="VGG at 32 × 32")
    + _ENTRY.format(id="m.f", text="f")
)

# name -> (body, toc); each breaks one check.
_BROKEN = {
    "wide-table": (
        '<table style="width: 1200px"><caption>Wide configs</caption><tr><td>A</td></tr></table>',
        "",
    ),
    # Inside the column, but only by scrolling its own box.
    "scrolled-table": (
        '<div style="overflow-x: auto; width: 300px"><table style="width: 600px">'
        "<tr><th>Zoo</th></tr></table></div>",
        "",
    ),
    "wide-code": (
        '<pre style="overflow-x: auto"><code>' + "conv(64) " * 40 + "</code></pre>",
        "",
    ),
    # Fits at 1280 px; on a phone it scrolls, and nothing shows that it does.
    "no-cue": (
        '<div style="overflow-x: auto"><table style="width: 500px">'
        "<tr><th>Phone</th></tr></table></div>",
        "",
    ),
    "break-all": ('<pre style="word-break: break-all">1,792</pre>', ""),
    # A listing shrunk until its long lines fit, past what a reader can read.
    "tiny-code": ('<pre style="font-size: 9px"><code>class VGG16_Weights</code></pre>', ""),
    # What the theme's table of contents made of headings with inline code.
    "toc": (
        '<h2 id="vgg">The <code>VGG</code> class</h2><h2 id="fw"><code>forward</code></h2>',
        _ENTRY.format(id="vgg", text="The class") + _ENTRY.format(id="fw", text=""),
    ),
    "provenance": (
        "<p>Computed with cnnbook 0.1.0; torch 2.9; seed 3.</p>" + _FOOTER,
        "",
    ),
    "heavy": ("<p>figure</p><!-- " + "x" * (layout.MAX_HTML_BYTES + 1000) + " -->", ""),
    "sideways": ('<div style="width: 600px">A diagram drawn for a wide screen</div>', ""),
}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    pages = {"good": (_GOOD_BODY, _GOOD_TOC), **_BROKEN}
    for name, (body, toc) in pages.items():
        (root / name).mkdir()
        (root / name / "index.html").write_text(_PAGE.format(body=body, toc=toc), encoding="utf-8")
    with serve(root) as url:
        yield url


@pytest.fixture(scope="module")
def checked(browser, synthetic):
    """Every check's findings on every synthetic page, at both widths."""
    context = browser.new_context(viewport=layout.WIDE)
    pg = context.new_page()
    found = {}
    for name in ["good", *_BROKEN]:
        pg.set_viewport_size(layout.WIDE)
        pg.goto(page_url(synthetic, name))
        wide = {
            "wide": layout.wide_problems(pg),
            "style": layout.style_problems(pg),
            "page": layout.page_problems(pg),
        }
        pg.set_viewport_size(layout.NARROW)
        found[name] = {**wide, "narrow": layout.narrow_problems(pg)}
    context.close()
    return found


def test_the_good_page_passes_every_check(checked):
    assert checked["good"] == {"wide": [], "style": [], "page": [], "narrow": []}


# page -> (check, words one of its problems must contain), for each problem it has
EXPECTED = {
    # Not in a scroll box, the wide table also pushes the phone page sideways.
    "wide-table": [
        ("wide", 'table "Wide configs" is 1200 px wide in a 800 px column'),
        ("narrow", "scrolls sideways"),
    ],
    "scrolled-table": [
        ("wide", 'table "Zoo" is 600 px wide'),
        ("narrow", 'div "Zoo" scrolls sideways (600 px in 300 px) with no cue'),
    ],
    "wide-code": [
        ("wide", 'code or output "conv(64)'),
        ("narrow", 'pre "conv(64)'),
    ],
    "no-cue": [("narrow", 'div "Phone" scrolls sideways')],
    "break-all": [("style", "word-break: break-all")],
    "tiny-code": [
        ("style", 'code or output "class VGG16_Weights" is set in 9.0 px (at least 11 px)')
    ],
    "toc": [
        ("page", 'entry "The class" differs from its heading "The VGG class"'),
        ("page", 'entry "" differs from its heading "forward"'),
    ],
    "provenance": [("page", "2 provenance lines")],
    "heavy": [("page", "kB of HTML (at most 200 kB)")],
    "sideways": [("narrow", 'div "A diagram drawn for a wide screen" reaches 600 px')],
}


@pytest.mark.parametrize("name", list(_BROKEN))
def test_each_check_reports_the_page_made_to_break_it(checked, name):
    found = checked[name]
    for check, words in EXPECTED[name]:
        assert any(words in p for p in found[check]), (check, words, found[check])
    # The other checks stay quiet: each page breaks one thing.
    expected = {check for check, _ in EXPECTED[name]}
    others = {k: v for k, v in found.items() if k not in expected and v}
    assert others == {}, others
