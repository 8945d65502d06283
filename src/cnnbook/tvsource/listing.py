"""Showing an installed source on a page: highlighted in a notebook, plain text elsewhere."""

from __future__ import annotations

import html
import textwrap
from pathlib import Path

from cnnbook.tvsource.reading import Located, locate, version_of


class Code:
    """Source code that shows highlighted in a notebook and as text elsewhere."""

    def __init__(self, located: Located) -> None:
        self.located = located
        self.text = textwrap.dedent(located.text).rstrip() + "\n"

    @property
    def caption(self) -> str:
        loc = self.located
        return (
            f"{loc.name} - {loc.name.split('.')[0]} {version_of(loc.name)}, "
            f"{_short_path(loc.file)} lines {loc.first_line}-{loc.last_line}"
        )

    def _repr_html_(self) -> str:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer

            body = highlight(self.text, PythonLexer(), HtmlFormatter(nowrap=True))
        except ImportError:  # pragma: no cover - pygments ships with the docs stack
            body = html.escape(self.text)
        return (
            f'<p class="cnnbook-source-caption"><code>{html.escape(self.caption)}</code></p>'
            f'<div class="language-python highlight"><pre><span></span><code>{body}'
            "</code></pre></div>"
        )

    def __repr__(self) -> str:
        return f"# {self.caption}\n{self.text}"

    __str__ = __repr__


def _short_path(path: str) -> str:
    """``torchvision/models/vgg.py`` rather than the full install path."""
    parts = Path(path).parts
    for top in ("torchvision", "torch"):
        if top in parts:
            i = len(parts) - 1 - parts[::-1].index(top)
            return "/".join(parts[i:])
    return Path(path).name


def show(name: str) -> Code:
    """The installed source of ``name``, ready to display on a page."""
    return Code(locate(name))
