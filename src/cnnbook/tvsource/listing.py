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


class Listing:
    """Python text that shows highlighted in a notebook and as text elsewhere."""

    def __init__(self, text: str, caption: str) -> None:
        self.text = text
        self._caption = caption

    @property
    def caption(self) -> str:
        return self._caption

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


class Code(Listing):
    """An installed source, read where it is defined."""

    def __init__(self, located: Located) -> None:
        self.located = located
        super().__init__(textwrap.dedent(located.text).rstrip() + "\n", "")

    @property
    def caption(self) -> str:
        loc = self.located
        return (
            f"{loc.name} - {loc.name.split('.')[0]} {version_of(loc.name)}, "
            f"{_short_path(loc.file)} lines {loc.first_line}-{loc.last_line}"
        )


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


def _parameter(param: inspect.Parameter) -> str:
    # Annotations stay as written (a module with postponed annotations keeps
    # them as strings; they are shown without quotes, as in the source).
    text = param.name
    if param.kind is param.VAR_POSITIONAL:
        text = "*" + text
    elif param.kind is param.VAR_KEYWORD:
        text = "**" + text
    if param.annotation is not param.empty:
        annotation = param.annotation
        if not isinstance(annotation, str):
            annotation = inspect.formatannotation(annotation)
        text += f": {annotation}"
    if param.default is not param.empty:
        text += f" = {param.default!r}" if ": " in text else f"={param.default!r}"
    return text


def signature(obj: object, name: str | None = None) -> Listing:
    """The signature of the function ``obj``, one parameter a line, as a listing.

    A long signature printed on one line runs far past its box; written the
    way a formatter writes a call that does not fit, it reads like the source.
    ``name`` is how the page calls it (``engine.fit``); the caption says where
    it is defined.
    """
    func = inspect.unwrap(obj)  # type: ignore[arg-type]  # a plain function unwraps to itself
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    lines, marked = [], False
    for i, param in enumerate(params):
        if param.kind is param.VAR_POSITIONAL:
            marked = True
        elif param.kind is param.KEYWORD_ONLY and not marked:
            lines.append("*")  # the parameters after it are keyword-only
            marked = True
        lines.append(_parameter(param))
        last_positional_only = param.kind is param.POSITIONAL_ONLY and (
            i + 1 == len(params) or params[i + 1].kind is not param.POSITIONAL_ONLY
        )
        if last_positional_only:
            lines.append("/")  # the parameters before it are positional-only
    returns = sig.return_annotation
    if returns is sig.empty:
        tail = ""
    else:
        tail = f" -> {returns if isinstance(returns, str) else inspect.formatannotation(returns)}"
    called = name or func.__name__
    text = f"{called}(\n" + "".join(f"    {line},\n" for line in lines) + f"){tail}\n"
    dotted = dotted_name(func)
    _, first = inspect.getsourcelines(func)
    try:
        package = f"{dotted.split('.')[0]} {version_of(dotted)}"
    except AttributeError:  # a module outside any versioned package
        package = dotted.split(".")[0]
    caption = (
        f"{dotted} - signature, {package}, "
        f"{_short_path(inspect.getsourcefile(func) or '')} line {first}"
    )
    return Listing(text, caption)
