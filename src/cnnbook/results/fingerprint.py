"""A fingerprint of the code that produced a recorded result.

The digest is taken over each module's parsed code (``ast.unparse`` with
docstrings removed), so rewording a comment or a docstring keeps a result
valid, while any change to what the code does (a setting, a line of the
training loop) makes it stale.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def code_of(path: Path) -> str:
    """The code of one Python file, as the fingerprint sees it."""
    return ast.unparse(_without_docstrings(ast.parse(path.read_text(encoding="utf-8"))))


def files(paths: Iterable[str], root: Path) -> list[Path]:
    """The Python files named by ``paths`` (files, or folders taken whole), sorted."""
    out: list[Path] = []
    for rel in paths:
        path = root / rel
        if path.is_dir():
            out.extend(sorted(path.rglob("*.py")))
        elif path.is_file():
            out.append(path)
        else:
            raise FileNotFoundError(f"the fingerprint names {rel}, which does not exist")
    return out


def fingerprint(paths: Iterable[str], root: Path) -> str:
    """``sha256:<hex>`` over the code of ``paths`` (relative to ``root``)."""
    digest = hashlib.sha256()
    for path in files(paths, root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\n")
        digest.update(code_of(path).encode() + b"\n")
    return "sha256:" + digest.hexdigest()
