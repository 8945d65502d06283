"""MkDocs hooks that keep the built site self-contained.

* MathJax and mermaid are served from the site's own origin: their files
  are taken from ``node_modules`` (installed by ``make setup`` from the
  pinned ``package-lock.json``) and added to the build as generated files.
* Notebook pages rendered by nbconvert carry loaders for MathJax 2 and
  mermaid from a CDN; they are removed, and the site's own copies serve
  those pages too.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

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
    # Drop nbconvert's CDN MathJax; the site-wide MathJax handles notebook math.
    return _NB_MERMAID.sub("", _NB_MATHJAX.sub("", output))
