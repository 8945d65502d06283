"""Fingerprints of walked sources, and the check that names every object that drifted.

The fingerprint is taken over the parsed code (``ast.unparse`` with
docstrings removed): reformatting, comments and docstrings do not count as
drift, any change to what the code does does.
"""

from __future__ import annotations

import ast
import hashlib
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cnnbook.tvsource.reading import source, version_of
from cnnbook.tvsource.walked import PAGES, WALKED

_Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module


class _StripDocstrings(ast.NodeTransformer):
    def _strip(self, node: _Scope) -> _Scope:
        self.generic_visit(node)
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Module = _strip


def normalise(text: str) -> str:
    """The code of ``text`` without formatting, comments or docstrings."""
    tree = ast.parse(textwrap.dedent(text))
    return ast.unparse(_StripDocstrings().visit(tree))


def fingerprint(text: str) -> str:
    """sha256 (hex) of the normalised source."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def record(name: str) -> tuple[str, str]:
    """The ``WALKED`` entry for ``name`` as installed now."""
    return fingerprint(source(name)), version_of(name)


@dataclass(frozen=True)
class Drift:
    """One walked object whose installed code no longer matches the record."""

    name: str
    written_for: str
    installed: str
    reason: str

    @property
    def message(self) -> str:
        return (
            f"{self.name} {self.reason} in version {self.installed}; its explanation was "
            f"written for version {self.written_for}. Review the explanation of {self.name} "
            "on its 'Inside torchvision' page, then update its entry in "
            "cnnbook.tvsource.WALKED with cnnbook.tvsource.record(name)."
        )


def check_drift(
    walked: Mapping[str, tuple[str, str]] | None = None,
    get_source: Callable[[str], str] = source,
) -> list[Drift]:
    """Every entry of ``walked`` whose installed source differs from the record.

    ``get_source`` is the reader of the installed source; tests pass an
    altered one to prove that a change is caught.
    """
    walked = WALKED if walked is None else walked
    drifts = []
    for name, (digest, written_for) in walked.items():
        installed = version_of(name)
        try:
            text = get_source(name)
        except LookupError:
            drifts.append(Drift(name, written_for, installed, "no longer exists"))
            continue
        if fingerprint(text) != digest:
            drifts.append(Drift(name, written_for, installed, "has changed"))
    return drifts


def page_entries(page: str) -> dict[str, tuple[str, str]]:
    """The ``WALKED`` entries of one page (``"vgg"`` or ``"resnet"``)."""
    return {name: WALKED[name] for name in PAGES[page]}


def summary(page: str) -> str:
    """One line for the top of a page: is every listing still what the prose describes?"""
    drifts = check_drift(page_entries(page))
    if drifts:
        return "\n".join(d.message for d in drifts)
    versions = sorted({f"{n.split('.')[0]} {v}" for n, (_, v) in page_entries(page).items()})
    return (
        f"All {len(PAGES[page])} listings on this page are the code its explanations were "
        f"written for ({', '.join(versions)})."
    )


def assert_no_drift(walked: Mapping[str, tuple[str, str]] | None = None) -> None:
    """Raise ``AssertionError`` listing every drifted object (for tests and CI)."""
    drifts = check_drift(walked)
    if drifts:
        raise AssertionError("\n".join(d.message for d in drifts))
