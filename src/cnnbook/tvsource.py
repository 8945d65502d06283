"""torchvision's own source, read live, with a guard against drift.

The "Inside torchvision" pages quote torchvision as it is installed, never a
copy, so the code a reader sees is always the code that runs. The prose
around it, though, was written for one particular version. ``WALKED``
records, for every object a page explains, a fingerprint of its source and
the torchvision version the explanation was written for; ``check_drift``
compares them with what is installed now and names every object whose code
has changed, so that its explanation gets reviewed instead of silently
going stale.

The fingerprint is taken over the parsed code (``ast.unparse`` with
docstrings removed): reformatting, comments and docstrings do not count as
drift, any change to what the code does does.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import html
import importlib
import inspect
import os
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

# The objects each page walks through, in page order.
PAGES: dict[str, tuple[str, ...]] = {
    "vgg": (
        "torchvision.models.vgg.VGG.__init__",
        "torchvision.models.vgg.VGG.forward",
        "torchvision.models.vgg.make_layers",
        "torchvision.models.vgg.cfgs",
        "torchvision.models.vgg._vgg",
        "torchvision.models._utils._ovewrite_named_param",
        "torchvision.models.vgg.VGG16_Weights",
        "torchvision.models.vgg._COMMON_META",
        "torchvision.transforms._presets.ImageClassification.forward",
        "torchvision.models.vgg.vgg16",
        "torchvision.models._api.WeightsEnum.get_state_dict",
        "torchvision.models._utils.handle_legacy_interface",
    ),
    "resnet": (
        "torchvision.models.resnet.conv3x3",
        "torchvision.models.resnet.conv1x1",
        "torchvision.models.resnet.BasicBlock",
        "torchvision.models.resnet.Bottleneck",
        "torchvision.models.resnet.ResNet.__init__",
        "torchvision.models.resnet.ResNet._make_layer",
        "torchvision.models.resnet.ResNet._forward_impl",
        "torchvision.models.resnet._resnet",
        "torchvision.models.resnet.resnext50_32x4d",
        "torchvision.models.resnet.wide_resnet50_2",
        "torchvision.models.resnet.ResNet50_Weights",
        "torchvision.models.resnet.resnet18",
        "torch.hub.load_state_dict_from_url",
    ),
}

# name -> (sha256 of the normalised source, version of its package that the
# explanation was written for). After reviewing an explanation against a new
# release, replace its entry with ``record(name)``.
WALKED: dict[str, tuple[str, str]] = {
    "torchvision.models.vgg.VGG.__init__": (
        "800fc4e7e0b328fa31161934f927406a6889d89bc9dffa495d3728c3d9ab8c32",
        "0.29.1",
    ),
    "torchvision.models.vgg.VGG.forward": (
        "6898029e869be93785337358168970df0497ceb344be96d1e82e3980907e4b9b",
        "0.29.1",
    ),
    "torchvision.models.vgg.make_layers": (
        "406669d9588ac951c11df51d666f61273fd78d463cfc05a54487548e479e8538",
        "0.29.1",
    ),
    "torchvision.models.vgg.cfgs": (
        "cd86aa12112361aec8e1b51e3a99f5b7e26b6ee3c492bec5192d60592ce2af51",
        "0.29.1",
    ),
    "torchvision.models.vgg._vgg": (
        "52415608be443c70408c1c9e25ac0077a715e7cdf1086c02e2116571e5fda5a3",
        "0.29.1",
    ),
    "torchvision.models._utils._ovewrite_named_param": (
        "bcda13eca9fa927ef12036c833a354b994e7e0850e8076663c711484474e5055",
        "0.29.1",
    ),
    "torchvision.models.vgg.VGG16_Weights": (
        "f0c511acae6b9b595518ac71528c9c2fe89ba40b0ebfd81812946e5cd18632c9",
        "0.29.1",
    ),
    "torchvision.models.vgg._COMMON_META": (
        "5a491a7a5ad79108d57a2b22019b7acedd585a57a43932876136970e5446cbfc",
        "0.29.1",
    ),
    "torchvision.transforms._presets.ImageClassification.forward": (
        "492f5c7beba9706653d76dc07433a6dc83f4697d5291606a62cf7eebe95792f6",
        "0.29.1",
    ),
    "torchvision.models.vgg.vgg16": (
        "6fda31bbe68609262b2a907356bed17a0dc5968efe31e493e31285bfaeecb0fc",
        "0.29.1",
    ),
    "torchvision.models._api.WeightsEnum.get_state_dict": (
        "24e27720ec912ccb9f05d2b9f83d0fa5a56e8d9b6abb9ee97b96740007c9d41c",
        "0.29.1",
    ),
    "torchvision.models._utils.handle_legacy_interface": (
        "57a1876d57c21b5e5d8a8ac84e511013c0317d304822f61a7a2d1ddaea84430d",
        "0.29.1",
    ),
    "torchvision.models.resnet.conv3x3": (
        "05e7f9212da6ee6cae85f6c91bc6754d1c683fd7612dfa0a3d55bfb0b1588437",
        "0.29.1",
    ),
    "torchvision.models.resnet.conv1x1": (
        "a3082ffac6111343cce997eb896656beb20def210ff66318dafe3eee85ed3d24",
        "0.29.1",
    ),
    "torchvision.models.resnet.BasicBlock": (
        "3185ed6ec4655fbd4f421742f9503662acf9eeaa95e51cb0606d90f3960c7328",
        "0.29.1",
    ),
    "torchvision.models.resnet.Bottleneck": (
        "e8424e22b603c9f0999eba7193eb6e152f81e966d23bc6131eb79a6aefbe8e1a",
        "0.29.1",
    ),
    "torchvision.models.resnet.ResNet.__init__": (
        "5b2e6e23c7247abf0c1488c56d039e3466aac884956486ad16feb6cd1536eb2b",
        "0.29.1",
    ),
    "torchvision.models.resnet.ResNet._make_layer": (
        "db663df2bb2f42fa64dd133b1c74651d4ceb16c6937e997489dbfc8e845326d4",
        "0.29.1",
    ),
    "torchvision.models.resnet.ResNet._forward_impl": (
        "22b508919b58ad64d177632c1b7bb792f9931e55fcf6e5103fb52722db00bd9a",
        "0.29.1",
    ),
    "torchvision.models.resnet._resnet": (
        "95ee707ae99a4ca35bd6f87e90dbc0cbc414153b92ee55d93f8af4d4bb9dbfba",
        "0.29.1",
    ),
    "torchvision.models.resnet.resnext50_32x4d": (
        "df8fed86f28a6cb5d82b376234b94093150f9f6edccc4de85ca132d5623678da",
        "0.29.1",
    ),
    "torchvision.models.resnet.wide_resnet50_2": (
        "24e74f61f8e3792ce54822a7d8ad5ec1c2bf76549039af6ab9f26eab817fba39",
        "0.29.1",
    ),
    "torchvision.models.resnet.ResNet50_Weights": (
        "287d829a7ac85ead21b4f89e9d99781deda7b1ec4a11be9b7db5432d01f93200",
        "0.29.1",
    ),
    "torchvision.models.resnet.resnet18": (
        "cc223a7816b897ef941b2ab24cea82e8f6ccb980b6cc5a175c12c5ab33ace9e3",
        "0.29.1",
    ),
    "torch.hub.load_state_dict_from_url": (
        "562187b95843dd9f171e65aaeb3b1ae6073aae433c116d16cfc6395ee39c15df",
        "2.14.1",
    ),
}


# --------------------------------------------------------------------------
# Reading the source


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


# --------------------------------------------------------------------------
# Fingerprints and drift


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


def version_of(name: str) -> str:
    """The installed version of the package ``name`` belongs to (``0.29.1``, no ``+cu..``)."""
    package = importlib.import_module(name.split(".")[0])
    return str(package.__version__).split("+")[0]


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


# --------------------------------------------------------------------------
# Showing source on a page


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


# --------------------------------------------------------------------------
# Working offline


@contextlib.contextmanager
def no_downloads() -> Iterator[None]:
    """Make any attempt to download weights an error instead of a network call.

    ``torch.hub.load_state_dict_from_url`` downloads only when the file is
    missing from the hub cache; inside this block that download raises
    ``RuntimeError``, so code that should find its weights locally proves
    that it did.
    """
    import torch.hub

    def refuse(url: str, *args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError(f"refusing to download {url}: this code must run offline")

    saved = torch.hub.download_url_to_file
    torch.hub.download_url_to_file = refuse
    try:
        yield
    finally:
        torch.hub.download_url_to_file = saved


@contextlib.contextmanager
def torch_home(path: str | os.PathLike) -> Iterator[Path]:
    """Point ``TORCH_HOME`` (and so ``torch.hub.get_dir()``) at ``path`` for a while."""
    saved = os.environ.get("TORCH_HOME")
    os.environ["TORCH_HOME"] = str(path)
    try:
        yield Path(path)
    finally:
        if saved is None:
            os.environ.pop("TORCH_HOME", None)
        else:
            os.environ["TORCH_HOME"] = saved
