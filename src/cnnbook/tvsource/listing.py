"""Showing an installed source on a page: highlighted in a notebook, plain text elsewhere.

Every listing in the book goes through :class:`Code`, torchvision's sources
on the "Inside torchvision" pages and the package's own (``show.source``)
alike, so they all look the same and none is pasted.
"""

from __future__ import annotations

import html
import inspect
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
        # The stylesheet sizes the font so that the longest line fits the box
        # (down to a readable minimum, below which the box scrolls): torchvision's
        # lines run to 120 characters, and the listing must stay its exact text.
        return (
            f'<div class="cnnbook-listing" style="--cnnbook-columns: {self.columns}">'
            f'<p class="cnnbook-source-caption"><code>{html.escape(self.caption)}</code></p>'
            f'<div class="language-python highlight"><pre><span></span><code>{body}'
            "</code></pre></div></div>"
        )

    @property
    def columns(self) -> int:
        """The length of the longest line, in characters."""
        return max(len(line) for line in self.text.expandtabs().splitlines())

    def __repr__(self) -> str:
        return f"# {self.caption}\n{self.text}"

    __str__ = __repr__


def _short_path(path: str) -> str:
    """``torchvision/models/vgg.py`` rather than the full install path."""
    parts = Path(path).parts
    for top in ("torchvision", "torch", "cnnbook"):
        if top in parts:
            i = len(parts) - 1 - parts[::-1].index(top)
            return "/".join(parts[i:])
    return Path(path).name


def dotted_name(obj: object) -> str:
    """``cnnbook.models.vgg_blocks.vgg_block`` for the function ``vgg_block``."""
    obj = inspect.unwrap(obj)  # type: ignore[arg-type]  # a plain object unwraps to itself
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<locals>" in qualname:
        raise LookupError(f"{obj!r} has no importable name; pass a module-level object")
    return f"{module}.{qualname}"


def show(target: str | object) -> Code:
    """The installed source of ``target`` (a dotted name or the object), ready to display."""
    return Code(locate(target if isinstance(target, str) else dotted_name(target)))
