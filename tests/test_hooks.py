"""The MkDocs hooks: a notebook page's .ipynb download, its shared stylesheet, its
figures as files, its table of contents, and the provenance line of every page."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from mkdocs.structure.toc import get_toc

ROOT = Path(__file__).resolve().parents[1]

SOURCE = """# %% [markdown]
# # A tiny page
#
# Some prose with $x^2$.

# %%
x = 21
print(x * 2)

# %% tags=["hide-input"]
import math

math.pi
"""


@pytest.fixture(scope="module")
def hooks():
    spec = importlib.util.spec_from_file_location(
        "cnnbook_mkdocs_hooks", ROOT / "tools/mkdocs_hooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "docs" / "tiny-page.py"
    path.parent.mkdir()
    path.write_text(SOURCE, encoding="utf-8")
    return path


def test_ipynb_is_the_source_as_a_notebook_without_outputs(hooks, source, tmp_path):
    target = hooks.write_ipynb(source, tmp_path / "site" / "tiny-page")

    assert target == tmp_path / "site" / "tiny-page" / "tiny-page.ipynb"
    nb = json.loads(target.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    assert [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]] == [
        ("markdown", "# A tiny page\n\nSome prose with $x^2$."),
        ("code", "x = 21\nprint(x * 2)"),
        ("code", "import math\n\nmath.pi"),
    ]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert code[1]["metadata"]["tags"] == ["hide-input"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "jupytext" not in nb["metadata"]


def test_ipynb_is_valid_and_the_same_on_every_build(hooks, source, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    first = hooks.write_ipynb(source, tmp_path / "a").read_bytes()
    second = hooks.write_ipynb(source, tmp_path / "b").read_bytes()
    assert first == second
    nbformat.validate(nbformat.reads(first.decode(), as_version=4))


def _page(src_uri: str, abs_src: Path, abs_dest: Path):
    return SimpleNamespace(
        file=SimpleNamespace(
            src_uri=src_uri, abs_src_path=str(abs_src), abs_dest_path=str(abs_dest)
        )
    )


def test_post_page_writes_the_ipynb_beside_a_notebook_page_only(hooks, source, tmp_path):
    site = tmp_path / "site"
    notebook = _page("tiny-page.py", source, site / "tiny-page" / "index.html")
    hooks.on_post_page("<html></html>", notebook, config={})
    assert (site / "tiny-page" / "tiny-page.ipynb").is_file()

    markdown = tmp_path / "docs" / "prose.md"
    markdown.write_text("# Prose\n", encoding="utf-8")
    hooks.on_post_page(
        "<html></html>", _page("prose.md", markdown, site / "prose" / "index.html"), {}
    )
    assert list(site.rglob("*.ipynb")) == [site / "tiny-page" / "tiny-page.ipynb"]


def test_template_links_the_ipynb_by_the_stem_the_hook_writes():
    template = (ROOT / "tools/overrides/main.html").read_text(encoding="utf-8")
    assert '{% set ipynb_name = nb_name.rsplit(".", 1)[0] ~ ".ipynb" %}' in template
    assert '<a href="{{ ipynb_name }}" download' in template


def _png(width: int, height: int, alpha: int | None = None) -> bytes:
    """A valid grey PNG of the given size; with ``alpha``, grey and alpha (all pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    pixel, colour_type = (b"\x80", 0) if alpha is None else (bytes([0x80, alpha]), 4)
    rows = b"".join(b"\x00" + pixel * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _toc(*entries: tuple[int, str]):
    """A table of contents as mkdocs-jupyter makes it: Markdown ids and titles."""
    return get_toc(
        [
            {"level": level, "id": f"md-{n}", "name": name, "children": []}
            for n, (level, name) in enumerate(entries)
        ]
    )


def _notebook_html(png: bytes) -> str:
    image = base64.b64encode(png).decode()
    return (
        "<script>customElements.define('clipboard-copy', C)</script>\n"
        '<style type="text/css">.jp-Cell { color: red; }</style>\n'
        '<style type="text/css">.highlight-ipynb .k { color: green; }</style>\n'
        '<script src="https://cdn.example/mathjax.js"></script>\n'
        '<div class="jupyter-wrapper">'
        '<h2 id="The-VGG-class">The <code>VGG</code> class'
        '<a class="anchor-link" href="#The-VGG-class">¶</a></h2>'
        '<h2 id="VGG-at-32">VGG at $32 \\times 32$ when <code>a &lt; b</code></h2>'
        '<div class="jp-RenderedHTMLCommon"><style scoped>.dataframe td { x: 1 }</style></div>'
        f'<div class="jp-RenderedImage"><img alt="a figure" src="data:image/png;base64,{image}"/>'
        "</div></div>"
    )


@pytest.fixture
def built(hooks, source, tmp_path):
    """One notebook page through the content hook, as a build does it."""
    hooks.on_pre_build({})
    site = tmp_path / "site"
    page = _page("tiny-page.py", source, site / "tiny-page" / "index.html")
    page.toc = _toc((2, "The class"), (2, "VGG at 32 times 32 when"))
    png = _png(3, 2)
    html = hooks.on_page_content(_notebook_html(png), page, config={}, files=None)
    return SimpleNamespace(html=html, page=page, site=site, png=png)


def test_notebook_css_leaves_the_page_for_one_shared_file(hooks, built):
    assert "<style type" not in built.html
    # A cell output's own style stays with the output.
    assert "<style scoped>.dataframe td { x: 1 }</style>" in built.html
    hooks.on_post_build({"site_dir": str(built.site)})
    css = (built.site / hooks.NOTEBOOK_CSS).read_text(encoding="utf-8")
    assert css == ".jp-Cell { color: red; }\n.highlight-ipynb .k { color: green; }"


def test_the_copy_button_script_is_shared_and_loaders_stay_for_post_page(hooks, built):
    assert "customElements" not in built.html
    # MathJax's CDN loader has attributes; on_post_page removes it, not this step.
    assert '<script src="https://cdn.example/mathjax.js"></script>' in built.html
    hooks.on_post_build({"site_dir": str(built.site)})
    js = (built.site / hooks.NOTEBOOK_JS).read_text(encoding="utf-8")
    assert js == "customElements.define('clipboard-copy', C)"
    template = (ROOT / "tools/overrides/main.html").read_text(encoding="utf-8")
    assert '<script src="{{ notebook_js | url }}"></script>' in template


# One code cell as mkdocs-jupyter renders it (after its HTML clean-up), and one output.
_CELL = """<div class="jp-Cell-inputWrapper" tabindex="0">
<div class="jp-Collapser jp-InputCollapser jp-Cell-inputCollapser">
</div>
<div class="jp-InputArea jp-Cell-inputArea">
<div class="jp-InputPrompt jp-InputArea-prompt">In\xa0[2]:</div><div class="CodeMirror">
<div class="zeroclipboard-container">
<clipboard-copy aria-label="Copy to Clipboard" for="cell-1">
<div>
<span class="notice" hidden="">Copied!</span>
<svg aria-hidden="true" class="clipboard-copy-icon" height="20" viewbox="0 0 16 16" width="20">
<path d="M0 6.75z" fill="currentColor"></path>
</svg>
</div>
</clipboard-copy>
</div>
<div class="highlight-ipynb hl-python"><pre><span></span><span class="n">x</span><span class="w"> </span><span class="o">=</span> <span class="mi">21</span>
</pre></div>
<div class="clipboard-copy-txt" id="cell-1">x = 21</div>
</div></div></div>
<div class="jp-OutputPrompt jp-OutputArea-prompt">Out[2]:</div>
<div class="jp-OutputArea-output"><pre>42</pre></div>"""


def test_lighten_drops_what_shows_nothing_and_keeps_what_shows(hooks):
    html = hooks.lighten(_CELL)
    # The copy button reads the highlighted source itself; no second copy, no inline SVG.
    assert 'for="cell-1"' in html and '<pre id="cell-1">' in html
    assert "clipboard-copy-txt" not in html and "<svg" not in html
    assert '<span aria-hidden="true" class="clipboard-copy-icon"></span>' in html
    # Hidden prompts and collapsers go; names and spaces lose their (uncoloured) spans.
    assert "Prompt" not in html and "Collapser" not in html and "<span></span>" not in html
    assert 'x <span class="o">=</span> <span class="mi">21</span>' in html
    assert "<pre>42</pre>" in html and '<span class="notice" hidden="">Copied!</span>' in html
    # What the button copies: the cell's source, as the hidden copy held it.
    pre = html.split('<pre id="cell-1">')[1].split("</pre>")[0]
    assert re.sub(r"<[^>]+>", "", pre) == "x = 21\n"


def test_the_copy_target_stays_in_its_own_cell(hooks):
    # A block with no copy text of its own (not a notebook input) keeps no id,
    # and the next cell's copy text names that cell's source, not this one.
    other = '<div class="highlight-ipynb hl-python"><pre>y = 1\n</pre></div>\n<p>between</p>'
    html = hooks.lighten(other + _CELL)
    assert html.count('id="cell-1"') == 1
    assert "<pre>y = 1\n</pre>" in html and '<pre id="cell-1">x' in html


def test_the_same_css_from_many_pages_is_written_once(hooks, built, source):
    second = _page("other.py", source, built.site / "other" / "index.html")
    second.toc = _toc((2, "x"), (2, "y"))
    hooks.on_page_content(_notebook_html(_png(1, 1)), second, config={}, files=None)
    hooks.on_post_build({"site_dir": str(built.site)})
    css = (built.site / hooks.NOTEBOOK_CSS).read_text(encoding="utf-8")
    assert css.count(".jp-Cell") == 1


def test_figures_become_lazy_files_beside_the_page(built):
    files = list((built.site / "tiny-page").glob("figure-*.png"))
    assert len(files) == 1 and files[0].read_bytes() == built.png
    assert "data:image" not in built.html
    assert (
        f'<img alt="a figure" src="{files[0].name}" loading="lazy" decoding="async" '
        'width="3" height="2"/>'
    ) in built.html


@pytest.mark.parametrize(("alpha", "marked"), [(None, False), (255, False), (0, True)])
def test_figures_with_a_transparent_background_are_marked(hooks, tmp_path, alpha, marked):
    html = f'<img src="data:image/png;base64,{base64.b64encode(_png(4, 4, alpha)).decode()}">'
    out = hooks.move_images(html, tmp_path)
    assert ('data-background="transparent"' in out) is marked, out


def test_figure_names_follow_their_content(hooks, tmp_path):
    def name(png: bytes, folder: str) -> str:
        html = f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        out = hooks.move_images(html, tmp_path / folder)
        return out.split('src="')[1].split('"')[0]

    assert name(_png(4, 4), "a") == name(_png(4, 4), "b") != name(_png(4, 5), "c")


def test_toc_takes_ids_and_text_from_the_rendered_headings(built):
    entries = list(built.page.toc)
    assert [e.id for e in entries] == ["The-VGG-class", "VGG-at-32"]
    # Inline code kept, permalink dropped, formula as plain text, escaped for the theme.
    assert [e.title for e in entries] == ["The VGG class", "VGG at 32 × 32 when a &lt; b"]


def test_toc_is_left_alone_when_headings_and_entries_disagree(hooks, source, tmp_path):
    page = _page("tiny-page.py", source, tmp_path / "site" / "tiny-page" / "index.html")
    page.toc = _toc((2, "Only one"))
    hooks.on_page_content(
        '<div class="jupyter-wrapper"><h2 id="a">A</h2><h2 id="b">B</h2></div>', page, {}, None
    )
    assert [(e.id, e.title) for e in page.toc] == [("md-0", "Only one")]


def test_every_page_gets_one_provenance_line_from_the_build(hooks):
    env = SimpleNamespace(globals={})
    hooks.on_env(env, config={}, files=None)
    line = env.globals["provenance"]
    assert line.startswith("This page was built with cnnbook ") and "; torch " in line
    assert "GPU: " in line and line.endswith(" UTC.")
    template = (ROOT / "tools/overrides/main.html").read_text(encoding="utf-8")
    assert template.count("{{ provenance }}") == 1
    assert '<link rel="stylesheet" href="{{ notebook_css | url }}">' in template
