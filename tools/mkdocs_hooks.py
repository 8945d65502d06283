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
"""

from __future__ import annotations

import logging
import posixpath
import re
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
_HEADING_ID = re.compile(r"<h[1-6][^>]*\sid=\"([^\"]+)\"")


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

    # Align the table of contents with the ids in the rendered headings.
    ids = _HEADING_ID.findall(html)
    entries = []

    def walk(items):
        for item in items:
            entries.append(item)
            walk(item.children)

    walk(page.toc)
    if len(entries) == len(ids):
        for item, heading_id in zip(entries, ids, strict=True):
            item.id = heading_id
            item.title = _plain_math(item.title)
    else:
        log.warning(
            "%s: %d headings in the page but %d in its table of contents",
            page.file.src_uri,
            len(ids),
            len(entries),
        )
    return html
