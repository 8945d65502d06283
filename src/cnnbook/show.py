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
from collections.abc import Iterable, Mapping, Sequence

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


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def table(rows: Iterable[Sequence], headers: Sequence[str], caption: str | None = None) -> _Rich:
    """A table of computed values (ints get thousands separators)."""
    rows = [[_fmt(v) for v in row] for row in rows]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    html_text = (
        '<div class="md-typeset__scrollwrap"><div class="md-typeset__table"><table>'
        f"{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></div>"
    )
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False))
        for r in [list(headers), *rows]
    ]
    return _Rich(html_text, "\n".join(lines))


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
