"""Reading torchvision's installed source: locate an object, its text, facts in its code."""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any


def _resolve(name: str) -> tuple[ModuleType, list[str]]:
    """Import the longest importable module prefix of ``name``; return it and the rest."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            return importlib.import_module(".".join(parts[:cut])), parts[cut:]
        except ImportError:
            continue
    raise LookupError(f"cannot import any module from {name!r}")


def _assignment(module: ModuleType, target: str) -> ast.stmt | None:
    """The top-level ``target = ...`` statement of ``module``, if there is one."""
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        else:
            continue
        if target in names:
            return node
    return None


@dataclass(frozen=True)
class Located:
    """Where a walked object lives: its source text, file and line range."""

    name: str
    text: str
    file: str
    first_line: int
    last_line: int


def locate(name: str) -> Located:
    """Find ``name`` (a dotted path such as ``torchvision.models.vgg.cfgs``).

    Functions, classes and methods come from ``inspect.getsource``; a
    module-level value without source of its own (a dict such as ``cfgs``)
    comes from its assignment statement in the module's source. Raises
    ``LookupError`` when the installed package no longer defines ``name``.
    """
    module, rest = _resolve(name)
    obj: object = module
    for attr in rest:
        obj = getattr(obj, attr, _MISSING)
        if obj is _MISSING:
            break
    if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj):
        # A decorated builder: read the builder, not its wrapper.
        code: Callable[..., Any] = inspect.unwrap(obj)
        lines, first = inspect.getsourcelines(code)
        return Located(
            name, "".join(lines), inspect.getsourcefile(code) or "", first, first + len(lines) - 1
        )
    node = _assignment(module, rest[0]) if len(rest) == 1 else None
    if node is None:
        raise LookupError(f"{name} is not defined in the installed package")
    text = ast.get_source_segment(inspect.getsource(module), node, padded=True) or ""
    return Located(name, text, inspect.getfile(module), node.lineno, node.end_lineno or 0)


_MISSING = object()


def source(name: str) -> str:
    """The installed source of ``name``, dedented."""
    return textwrap.dedent(locate(name).text)


def version_of(name: str) -> str:
    """The installed version of the package ``name`` belongs to (``0.29.1``, no ``+cu..``)."""
    package = importlib.import_module(name.split(".")[0])
    return str(package.__version__).split("+")[0]


# --------------------------------------------------------------------------
# Facts read from the code itself


def _function_node(name: str) -> ast.AST:
    tree = ast.parse(source(name))
    return tree.body[0]


def literal_calls(name: str, callee: str) -> list[tuple]:
    """The literal positional arguments of each call to ``callee`` inside ``name``.

    Non-literal arguments come back as their source text, e.g.
    ``literal_calls("torchvision.models.vgg.vgg16", "_vgg")`` gives
    ``[("D", False, "weights", "progress")]``.
    """
    calls = []
    for node in ast.walk(_function_node(name)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == callee
        ):
            args = []
            for arg in node.args:
                try:
                    args.append(ast.literal_eval(arg))
                except ValueError:
                    args.append(ast.unparse(arg))
            calls.append(tuple(args))
    return calls


def legacy_default(builder: str) -> dict[str, str]:
    """What ``pretrained=True`` means for a builder, read from its decorator.

    torchvision wraps every builder in ``handle_legacy_interface(weights=
    ("pretrained", <enum member>))``; the result maps the old argument name
    to the weights it stands for, e.g. ``{"pretrained":
    "VGG16_Weights.IMAGENET1K_V1"}``.
    """
    node = _function_node(builder)
    for deco in getattr(node, "decorator_list", []):
        if (
            isinstance(deco, ast.Call)
            and isinstance(deco.func, ast.Name)
            and deco.func.id == "handle_legacy_interface"
        ):
            out = {}
            for kw in deco.keywords:
                if isinstance(kw.value, ast.Tuple) and len(kw.value.elts) == 2:
                    old, default = kw.value.elts
                    out[ast.literal_eval(old)] = ast.unparse(default)
            return out
    return {}
