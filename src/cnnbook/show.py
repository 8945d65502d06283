"""Small display helpers for the book's executed pages.

Notebook pages are rendered by nbconvert, not by the site's Markdown, so
Material's admonitions and content tabs are not available in their
Markdown cells. These helpers emit the same HTML that Material styles, so
a computed table, a note or a CPU/GPU tab set looks like the rest of the
site. Outside a notebook they fall back to plain text.
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from torch import nn

from cnnbook.analysis import complexity
from cnnbook.tvsource import listing
from cnnbook.tvsource.listing import Code

_tab_ids = itertools.count(1)


class _Rich:
    """An object that shows as HTML in a notebook and as text elsewhere."""

    def __init__(self, html_text: str, plain: str) -> None:
        self._html = html_text
        self._plain = plain

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return self._plain

    __str__ = __repr__


#: How one column's values are written: a format spec such as ``",.0f"`` or
#: ``".1%"``, or a function from the value to its text.
Format = str | Callable[[Any], str]
#: Formats for a table's columns: by header, or one per column in order.
Formats = Mapping[str, Format] | Sequence[Format | None] | None

# A string cell that is a number already written out ("33.3%", "1,234", "+0.5",
# "12 ms", "x2.5") still lines up with the numbers around it.
_NUMERIC_TEXT = re.compile(r"^[x×]?[+\-−]?\d[\d,]*(\.\d+)?(e[+\-]?\d+)?\s?(%|x|×|ms|s|M|G|k|MiB)?$")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float_spec(values: Sequence[float]) -> str:
    """One format for a column of floats: the smallest keeps four significant digits.

    A column reads as a column only when every value has the same number of
    decimals ("0.3229" above "0.5000", not above "0.5").
    """
    finite = [abs(v) for v in values if v and math.isfinite(v)]
    if not finite:
        return ",.1f"
    smallest = min(finite)
    if smallest >= 100:
        return ",.0f"
    if smallest < 1e-3:
        return ".2e"
    return f",.{min(4, 3 - math.floor(math.log10(smallest)))}f"


class _Auto(str):
    """A float format the table chose itself: it leaves the column's ints as ints."""


def _cell(value: object, spec: Format | None) -> str:
    if value is None:
        return "–"
    if callable(spec):
        return str(spec(value))
    if isinstance(spec, _Auto) and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if spec is not None and _is_number(value):
        return format(value, spec)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _column_specs(
    rows: Sequence[Sequence[Any]], headers: Sequence[str], formats: Formats
) -> list[Format | None]:
    """The format of every column: the caller's, else one shared by its floats."""
    if formats is None:
        given: list[Format | None] = [None] * len(headers)
    elif isinstance(formats, Mapping):
        unknown = set(formats) - set(headers)
        if unknown:
            raise KeyError(f"formats name columns the table does not have: {sorted(unknown)}")
        given = [formats.get(h) for h in headers]
    else:
        given = list(formats)
        if len(given) != len(headers):
            raise ValueError(f"formats has {len(given)} entries for {len(headers)} columns")
    specs = []
    for i, spec in enumerate(given):
        floats = [r[i] for r in rows if isinstance(r[i], float)]
        if spec is None and floats:
            # A column that also holds text (settings and their values) is no
            # column of numbers to line up: each float keeps its shortest form.
            mixed = any(isinstance(r[i], str) for r in rows)
            spec = _Auto("g" if mixed else _float_spec(floats))
        specs.append(spec)
    return specs


_EMPTY = ("", "-", "–")


def _numeric_columns(cells: list[list[str]], raw: Sequence[Sequence[Any]]) -> list[bool]:
    """A column is numeric (right-aligned) when every filled cell holds a number."""
    out = []
    for i in range(len(cells[0]) if cells else 0):
        filled = [(r[i], c[i]) for r, c in zip(raw, cells, strict=True) if c[i] not in _EMPTY]
        out.append(
            bool(filled)
            and all(_is_number(v) or bool(_NUMERIC_TEXT.match(text)) for v, text in filled)
        )
    return out


def _td(text: str, numeric: bool, tag: str = "td") -> str:
    # Numbers right-aligned and never broken across lines (a header may wrap, so
    # that long headers do not widen a column of short numbers); "\n" breaks a line.
    if not numeric:
        style = ""
    elif tag == "th":
        style = ' style="text-align: right"'
    else:
        style = ' style="text-align: right; white-space: nowrap"'
    body = "<br>".join(html.escape(line) for line in text.split("\n"))
    return f"<{tag}{style}>{body}</{tag}>"


def table(
    rows: Iterable[Sequence[Any]],
    headers: Sequence[str],
    caption: str | None = None,
    *,
    formats: Formats = None,
    footer: Sequence[Any] | None = None,
) -> _Rich:
    """A table of computed values, written the same way everywhere in the book.

    Pass numbers, not text: ints get thousands separators, the floats of a
    column share one format (or the one ``formats`` gives, by header or by
    position, e.g. ``{"share": ".1%"}``), numeric columns are right-aligned
    and never wrap, ``None`` shows as a dash and a ``"\n"`` in a cell breaks
    the line. Units belong in the headers ("MACs at 224", "CPU ms").
    ``footer`` is a totals row set apart below the body.
    """
    raw = [list(r) for r in rows]
    if any(len(r) != len(headers) for r in raw):
        raise ValueError(f"every row needs {len(headers)} cells, one per header")
    every = raw + ([list(footer)] if footer is not None else [])
    specs = _column_specs(every, headers, formats)
    cells = [[_cell(v, s) for v, s in zip(r, specs, strict=True)] for r in every]
    numeric = _numeric_columns(cells, every)
    head = "".join(_td(h, n, "th") for h, n in zip(headers, numeric, strict=True))
    lines = ["".join(_td(c, n) for c, n in zip(r, numeric, strict=True)) for r in cells]
    body = "".join(f"<tr>{line}</tr>" for line in lines[: len(raw)])
    foot = f"<tfoot><tr>{lines[-1]}</tr></tfoot>" if footer is not None else ""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    html_text = (
        '<div class="md-typeset__scrollwrap"><div class="md-typeset__table"><table>'
        f"{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table></div></div>"
    )
    return _Rich(html_text, _plain_table(headers, cells, numeric, caption))


def _plain_table(
    headers: Sequence[str], cells: list[list[str]], numeric: list[bool], caption: str | None
) -> str:
    texts = [list(headers), *[[c.replace("\n", " / ") for c in r] for r in cells]]
    widths = [max(len(r[i]) for r in texts) for i in range(len(headers))]
    lines = [
        "  ".join(
            (c.rjust(w) if n else c.ljust(w)) for c, w, n in zip(r, widths, numeric, strict=True)
        ).rstrip()
        for r in texts
    ]
    return "\n".join(([caption] if caption else []) + lines)


def _shape(shape: Sequence[int]) -> str:
    """``64×224×224``: one item's shape (the batch dropped), compact enough not to wrap."""
    return "×".join(str(d) for d in shape[1:]) or "–"


def summary(
    model: nn.Module, input_shape: tuple[int, ...], depth: int = 2, caption: str | None = None
) -> _Rich:
    """A model's layers as a table: what ``torchinfo.summary`` prints, lined up.

    One row per module down to ``depth`` (a block's row carries the totals of
    its layers), for one input of ``input_shape`` (batch included), and the
    model's totals below. MACs are torchinfo's multiply-adds ("Mult-Adds").
    """
    stats = complexity.summarize(model, input_shape, depth=depth)
    rows = [
        (r.name, r.kind, _shape(r.output_shape), r.params, r.macs)
        for r in complexity.summary_rows(stats, depth)
    ]
    footer = ("total", "", "", stats.total_params, stats.total_mult_adds)
    headers = ["layer", "type", "output (C×H×W)", "parameters", "MACs"]
    return table(rows, headers, caption, footer=footer)


def source(obj: object) -> Code:
    """The package's own source of ``obj`` (a function, class or method), highlighted.

    It goes through the same listing as torchvision's sources on the
    "Inside torchvision" pages, and is read from the installed package, so
    it cannot differ from the code that runs.
    """
    return listing.show(obj)


def signature(obj: object, name: str | None = None) -> listing.Listing:
    """The signature of ``obj`` (a function), one parameter a line, highlighted.

    It is read from the installed function, so it cannot differ from the
    code that runs, and it shows through the same listing as ``source``.
    ``name`` is how the page calls it, e.g. ``"engine.fit"``.
    """
    return listing.signature(obj, name)


def note(text: str, kind: str = "note", title: str | None = None) -> _Rich:
    """A Material admonition (``note``, ``tip``, ``warning``, ``info``...)."""
    title = title or kind.capitalize()
    html_text = (
        f'<div class="admonition {html.escape(kind)}"><p class="admonition-title">'
        f"{html.escape(title)}</p><p>{html.escape(text)}</p></div>"
    )
    return _Rich(html_text, f"[{title}] {text}")


def tabs(blocks: Mapping[str, str], language: str = "bash") -> _Rich:
    """Material content tabs, one code block per tab (e.g. CPU / GPU commands)."""
    set_id = next(_tab_ids)
    inputs, labels, contents = [], [], []
    for i, (label, code) in enumerate(blocks.items(), start=1):
        tab_id = f"__cnnbook_tabbed_{set_id}_{i}"
        checked = " checked" if i == 1 else ""
        inputs.append(
            f'<input{checked} id="{tab_id}" name="__cnnbook_tabbed_{set_id}" type="radio">'
        )
        labels.append(f'<label for="{tab_id}">{html.escape(label)}</label>')
        contents.append(
            f'<div class="tabbed-block"><div class="highlight"><pre><code class="language-{language}">'
            f"{html.escape(code.strip())}</code></pre></div></div>"
        )
    html_text = (
        f'<div class="tabbed-set tabbed-alternate" data-tabs="{set_id}:{len(blocks)}">'
        + "".join(inputs)
        + '<div class="tabbed-labels">'
        + "".join(labels)
        + '</div><div class="tabbed-content">'
        + "".join(contents)
        + "</div></div>"
    )
    plain = "\n\n".join(f"--- {k} ---\n{v.strip()}" for k, v in blocks.items())
    return _Rich(html_text, plain)


def solution(text: str, title: str = "Solution") -> _Rich:
    """An exercise's solution, folded until the reader opens it (a Material ``details``).

    The text is computed by the page from package code, so the answer a
    reader unfolds is the one the tests assert.
    """
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    html_text = (
        f'<details class="success"><summary>{html.escape(title)}</summary>{paragraphs}</details>'
    )
    return _Rich(html_text, f"[{title}, folded] {text}")


def points(items: Sequence[str], title: str = "In short", kind: str = "abstract") -> _Rich:
    """A page's key points as a Material admonition holding a bulleted list."""
    bullets = "".join(f"<li>{html.escape(item)}</li>" for item in items)
    html_text = (
        f'<div class="admonition {html.escape(kind)}"><p class="admonition-title">'
        f"{html.escape(title)}</p><ul>{bullets}</ul></div>"
    )
    return _Rich(html_text, "\n".join(f"- {item}" for item in items))
