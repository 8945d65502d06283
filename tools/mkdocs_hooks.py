"""MkDocs hooks that keep the built site self-contained.

* MathJax and mermaid are served from the site's own origin: their files
  are taken from ``node_modules`` (installed by ``make setup`` from the
  pinned ``package-lock.json``) and added to the build as generated files.
* Notebook pages are rendered by nbconvert, outside MkDocs' Markdown, so
  two things MkDocs does for Markdown pages are done here: links to other
  pages' source files (``training.py``, ``../getting-started.md#install``)
  become links to the built pages, and are validated; and the table of
  contents uses the heading ids nbconvert actually wrote.
* Notebook pages rendered by nbconvert carry loaders for MathJax 2 and
  mermaid from a CDN; they are removed, and the site's own copies serve
  those pages too.
* Notebook pages download as a Jupyter notebook as well as the jupytext
  ``.py`` that mkdocs-jupyter copies: the ``.ipynb`` is made from the same
  source at build, without outputs, so that the reader's run makes them.
* Notebook pages stay light: nbconvert inlines about 590 kB of JupyterLab
  and Pygments CSS into every page and every figure as base64; the CSS is
  served once as a shared stylesheet (linked by ``overrides/main.html``),
  and so is the copy button's script; each figure becomes a file beside its
  page, loaded lazily; and markup a reader never sees (hidden prompts, a
  second copy of every cell's source, a copy icon drawn per cell) leaves the
  page (``lighten``).
* Every page ends with one provenance line (versions, hardware, date),
  computed once per build and placed by ``overrides/main.html``.
"""

from __future__ import annotations

import base64
import hashlib
import html as htmllib
import io
import logging
import posixpath
import re
import struct
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.cnnbook")

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"

# (source inside node_modules, destination inside the site)
VENDOR = [
    ("mathjax/es5/tex-chtml.js", "vendor/mathjax/tex-chtml.js"),
    ("mathjax/es5/input", "vendor/mathjax/input"),
    ("mathjax/es5/output/chtml", "vendor/mathjax/output/chtml"),
    ("mathjax/es5/a11y", "vendor/mathjax/a11y"),
    ("mathjax/es5/ui", "vendor/mathjax/ui"),
    ("mathjax/es5/adaptors", "vendor/mathjax/adaptors"),
    ("mathjax/es5/sre", "vendor/mathjax/sre"),
    ("mermaid/dist/mermaid.min.js", "vendor/mermaid/mermaid.min.js"),
]

# nbconvert's template loads MathJax 2 and (for notebooks with diagrams)
# mermaid from cdnjs; the site serves its own copies of both.
_NB_MATHJAX = re.compile(
    r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.DOTALL
)
_NB_MERMAID = re.compile(
    r'<script type="module">(?:(?!</script>).)*?cdnjs\.cloudflare\.com(?:(?!</script>).)*</script>',
    re.DOTALL,
)


def on_files(files: Files, config) -> Files:
    for src, dest in VENDOR:
        path = NODE / src
        if not path.exists():
            raise PluginError(
                f"{path.relative_to(ROOT)} is missing; run `make setup` to install the site's "
                "front-end packages."
            )
        paths = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for p in paths:
            uri = dest if path.is_file() else f"{dest}/{p.relative_to(path).as_posix()}"
            files.append(File.generated(config, uri, abs_src_path=str(p)))
    return files


# Where the notebook pages' shared stylesheet and script are written, relative to the site.
NOTEBOOK_CSS = "assets/stylesheets/notebook.css"
NOTEBOOK_JS = "assets/javascripts/notebook.js"
# The CSS and script blocks taken out of notebook pages in this build, in
# first-seen order (every page carries the same ones; a dict keeps the order
# and drops repeats).
_notebook_css: dict[str, None] = {}
_notebook_js: dict[str, None] = {}


def on_pre_build(config) -> None:
    _notebook_css.clear()
    _notebook_js.clear()


def on_env(env, config, files):
    from cnnbook import runinfo

    # Computed once per build: every page shows the same line.
    env.globals["provenance"] = runinfo.footer()
    env.globals["notebook_css"] = NOTEBOOK_CSS
    env.globals["notebook_js"] = NOTEBOOK_JS
    return env


def on_post_build(config) -> None:
    for blocks, name in ((_notebook_css, NOTEBOOK_CSS), (_notebook_js, NOTEBOOK_JS)):
        if blocks:
            target = Path(config["site_dir"]) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("\n".join(blocks), encoding="utf-8")


def on_post_page(output: str, page, config) -> str:
    if _is_notebook(page):
        write_ipynb(Path(page.file.abs_src_path), Path(page.file.abs_dest_path).parent)
    # Drop nbconvert's CDN MathJax; the site-wide MathJax handles notebook math.
    return _NB_MERMAID.sub("", _NB_MATHJAX.sub("", output))


def write_ipynb(source: Path, dest_dir: Path) -> Path:
    """Write the jupytext notebook ``source`` as ``dest_dir/<stem>.ipynb``, without outputs.

    The page template links this file next to the ``.py``, by the same stem.
    """
    import jupytext

    nb = jupytext.read(source)
    # The pairing metadata would make a reader's jupytext look for a .py beside
    # the download; the kernel is the one the site is executed with.
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    # jupytext draws random cell ids; fixed ones keep two builds of the site identical.
    for number, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{number}"
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / f"{source.stem}.ipynb"
    jupytext.write(nb, target, fmt="ipynb")
    return target


_HREF = re.compile(r'href="(?![a-z][a-z0-9+.-]*:|/|#)([^"#?]+\.(?:py|md))(#[^"]*)?"')
_HEADING = re.compile(r'<h([1-6])\b[^>]*\sid="([^"]+)"[^>]*>(.*?)</h\1>', re.DOTALL)
_ANCHOR_LINK = re.compile(r'<a\b[^>]*class="anchor-link"[^>]*>.*?</a>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style>\s*", re.DOTALL)
# A script with no attributes: mkdocs-jupyter's copy button (MathJax's and
# mermaid's loaders carry attributes and are dropped in on_post_page).
_SCRIPT = re.compile(r"<script>(.*?)</script>\s*", re.DOTALL)
_NOTEBOOK_START = '<div class="jupyter-wrapper">'
_DATA_IMAGE = re.compile(
    r'<img\b([^>]*?)\ssrc="data:image/(png|jpeg|gif);base64,([A-Za-z0-9+/=\s]+)"([^>]*)>'
)


_INLINE_MATH = re.compile(r"\$([^$]+)\$")
_TEX_SYMBOLS = {r"\times": "×", r"\cdot": "·", r"\le": "≤", r"\ge": "≥", r"\to": "→"}


def _plain_math(title: str) -> str:
    """``VGG at $32 \\times 32$`` -> ``VGG at 32 × 32`` for the table of contents,
    which MathJax does not typeset."""

    def plain(match: re.Match) -> str:
        tex = match.group(1)
        for command, symbol in _TEX_SYMBOLS.items():
            tex = tex.replace(command, symbol)
        return re.sub(r"\\[a-zA-Z]+", "", tex).replace("{", "").replace("}", "").strip()

    return _INLINE_MATH.sub(plain, title)


def heading_title(inner_html: str) -> str:
    """A heading's inner HTML as its table-of-contents entry: the text as the
    reader sees it (inline code kept, permalink dropped, formulas as plain
    text), escaped for the theme, which inserts titles as HTML."""
    text = htmllib.unescape(_TAG.sub("", _ANCHOR_LINK.sub("", inner_html)))
    return htmllib.escape(_plain_math(" ".join(text.split())), quote=False)


def take_styles(html: str) -> str:
    """``html`` without the ``<style>`` blocks and plain ``<script>`` blocks
    nbconvert puts before the notebook; they join the shared notebook
    stylesheet and script. Styles inside the notebook (a cell's output) stay
    with their output."""
    start = html.find(_NOTEBOOK_START)
    if start < 0:
        return html

    def taker(blocks: dict[str, None]):
        def take(match: re.Match) -> str:
            blocks[match.group(1).strip()] = None
            return ""

        return take

    head = _STYLE.sub(taker(_notebook_css), html[:start])
    return _SCRIPT.sub(taker(_notebook_js), head) + html[start:]


# Markup of nbconvert's notebook page that a reader never sees or uses:
# the prompts and collapsers the stylesheet hides (extra.css), and the empty
# span Pygments starts every block with.
_HIDDEN = re.compile(
    r'<div class="jp-(?:InputPrompt|OutputPrompt|Collapser)\b[^"]*">[^<]*</div>\s*|<span></span>'
)
# The copy button's icon, an inline SVG of about 0.7 kB in every code cell;
# the stylesheet draws it once, as a mask (extra.css, .clipboard-copy-icon).
_COPY_ICON = re.compile(r'<svg\b[^>]*class="clipboard-copy-icon"[^>]*>.*?</svg>', re.DOTALL)
# Each code cell: its highlighted source, then the same source again as hidden
# text for the copy button to read. The button copies an element's text, so it
# can read the highlighted <pre> itself. (Highlighted code holds no "</pre>", so
# a match never reaches into the next cell.)
_COPY_TEXT = re.compile(
    r'(<div class="highlight-ipynb[^"]*"><pre)(>(?:(?!</pre>).)*</pre></div>\s*)'
    r'<div class="clipboard-copy-txt" id="([^"]+)">.*?</div>',
    re.DOTALL,
)
# Pygments tokens whose class no stylesheet colours differently from the code
# around them: names (Material colours ``.n`` with the code's own colour, the
# notebook stylesheet not at all) and whitespace. About a quarter of a
# listing's markup; the text stays as it is.
_PLAIN_TOKEN = re.compile(r'<span class="[nw]">([^<]*)</span>')


def lighten(html: str) -> str:
    """A notebook page's HTML without markup that shows nothing (see above).

    What the reader sees, and what the copy buttons copy, stays the same.
    """
    html = _COPY_TEXT.sub(r'\1 id="\3"\2', html)
    html = _COPY_ICON.sub('<span aria-hidden="true" class="clipboard-copy-icon"></span>', html)
    html = _HIDDEN.sub("", html)
    return _PLAIN_TOKEN.sub(r"\1", html)


def _image_size(data: bytes, kind: str) -> tuple[int, int] | None:
    # A PNG's IHDR chunk, at a fixed offset, holds its width and height.
    if kind == "png" and data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    return None


def _transparent_background(data: bytes) -> bool:
    """Whether the image's corners are see-through (a plot drawn for any theme).

    The stylesheet puts opaque figures on a card in dark mode and leaves these alone.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        if "A" not in image.getbands() and "transparency" not in image.info:
            return False
        rgba = image.convert("RGBA")
        w, h = rgba.size
        corners = [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)]
        return all(rgba.getpixel(xy)[3] == 0 for xy in corners)


def move_images(html: str, dest_dir: Path) -> str:
    """Write each base64 image of ``html`` to ``dest_dir`` and point the page at the file.

    Files are named by content, so two builds write the same names and a
    browser may cache them. Images load lazily; width and height, where the
    file tells them, let the page keep its layout while they arrive.
    """

    def move(match: re.Match) -> str:
        before, kind, payload, after = match.groups()
        data = base64.b64decode("".join(payload.split()))
        name = f"figure-{hashlib.sha256(data).hexdigest()[:16]}.{kind}"
        dest_dir.mkdir(parents=True, exist_ok=True)
        (dest_dir / name).write_bytes(data)
        extra = ' loading="lazy" decoding="async"'
        size = _image_size(data, kind)
        if size and not re.search(r"\s(?:width|height)=", before + after):
            extra += f' width="{size[0]}" height="{size[1]}"'
        if _transparent_background(data):
            extra += ' data-background="transparent"'
        return f'<img{before} src="{name}"{extra}{after}>'

    return _DATA_IMAGE.sub(move, html)


def _is_notebook(page) -> bool:
    return page.file.src_uri.endswith(".py")


def on_page_content(html: str, page, config, files: Files) -> str:
    if not _is_notebook(page):
        return html

    def relink(match: re.Match) -> str:
        target, anchor = match.group(1), match.group(2) or ""
        src = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), target))
        dest = files.get_file_from_path(src)
        if dest is None or not dest.is_documentation_page():
            log.warning(
                "%s links to %r, which is not a page of the book", page.file.src_uri, target
            )
            return match.group(0)
        return f'href="{dest.url_relative_to(page.file)}{anchor}"'

    html = _HREF.sub(relink, html)
    html = lighten(take_styles(html))
    html = move_images(html, Path(page.file.abs_dest_path).parent)
    align_toc(page, html)
    return html


def align_toc(page, html: str) -> None:
    """Give the table of contents the ids and the text of the rendered headings.

    mkdocs-jupyter builds it from a Markdown rendering of the notebook, whose
    ids differ from the ones nbconvert writes and whose titles lose inline
    code ("The `VGG` class" becomes "The class").
    """
    headings = [(m.group(2), m.group(3)) for m in _HEADING.finditer(html)]
    entries = []

    def walk(items):
        for item in items:
            entries.append(item)
            walk(item.children)

    walk(page.toc)
    if len(entries) != len(headings):
        log.warning(
            "%s: %d headings in the page but %d in its table of contents",
            page.file.src_uri,
            len(headings),
            len(entries),
        )
        return
    for item, (heading_id, inner) in zip(entries, headings, strict=True):
        item.id = heading_id
        item.title = heading_title(inner)
