"""Every command shown to a reader, and how CI runs it on a CPU in seconds.

Three places show commands:

* fenced shell blocks and inline code in ``README.md`` and ``docs/**/*.md``;
* the same inside the markdown cells of the notebook pages ``docs/**/*.py``
  (jupytext percent format), plus the command tabs those pages draw with
  ``book.tabs({...})``;
* the indented command lines of the docstrings of ``examples/*.py``.

:func:`collect` finds them; :func:`rewrite` turns one into an argv that runs
here: on the CPU, on fake or generated data, with a budget of a few steps.
Each rule of the rewrite is a small function that says why it exists. A
command whose program no rule knows raises :class:`NotRunnable`, so a new
kind of documented command cannot be skipped without someone deciding how.
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# First words that make a line a command a reader runs.
PROGRAM = re.compile(r"(?:\.venv/bin/)?(?:python3?|cnnbook|torchrun|make|pip3?)$")
SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "shell-session", "zsh", ""}
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*\{?\.?([\w+-]*)")
INLINE = re.compile(r"(?<!`)`([^`\n]+(?:\n[^`\n]+)?)`(?!`)")


@dataclass(frozen=True)
class Documented:
    """One command as a reader sees it: continuations joined, comments dropped."""

    file: str  # relative to the repository root
    line: int
    tokens: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


class NotRunnable(Exception):
    """No rewriting rule knows how to run this command in CI."""


# --------------------------------------------------------------------------- collecting


def _is_command(tokens: list[str]) -> bool:
    return bool(tokens) and PROGRAM.fullmatch(tokens[0]) is not None


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:  # an unbalanced quote: not a shell line
        return []


def _alternative(comment: str) -> list[str]:
    """``# or: python -m cnnbook --help`` shows a second command; return its words."""
    m = re.match(r"#\s*or:?\s+(.*)", comment)
    return _split(m.group(1)) if m else []


def shell_commands(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, list[str]]]:
    """(line, words) of each command in numbered shell lines; ``\\`` continues a line."""
    parts: list[str] = []
    start = 0
    for number, raw in lines:
        line = raw.strip()
        if line.startswith("$ "):  # console prompt
            line = line[2:]
        if not parts:
            if not line:
                continue
            start = number
        # A docstring shows the continuation as "\\" (an escaped backslash).
        continued = line.endswith("\\")
        parts.append(line.rstrip("\\").strip())
        if continued:
            continue
        joined, parts = " ".join(parts), []
        words = _split(joined)
        if _is_command(words):
            yield start, words
        comment = joined[joined.find("#") :] if "#" in joined else ""
        alt = _alternative(comment)
        if _is_command(alt):
            yield start, alt


def _markdown(file: str, lines: list[str]) -> Iterator[Documented]:
    """Fenced shell blocks and inline code spans; ``lines[i]`` is line ``i + 1`` of ``file``."""
    prose = list(lines)
    fence: tuple[str, str] | None = None  # (marker, language) while inside a block
    block: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        if fence is None and m:
            fence, block = (m.group(2), m.group(3).lower()), []
            prose[i] = ""
        elif fence is not None:
            prose[i] = ""
            if line.strip().startswith(fence[0]):
                if fence[1] in SHELL_LANGUAGES:
                    for n, words in shell_commands(block):
                        yield Documented(file, n, tuple(words))
                fence = None
            else:
                block.append((i + 1, line))
    text = "\n".join(prose)
    for m in INLINE.finditer(text):
        words = _split(m.group(1).replace("\n", " "))
        # a bare program name ("the `cnnbook` command") names it; it is no command
        if _is_command(words) and len(words) > 1:
            yield Documented(file, text.count("\n", 0, m.start()) + 1, tuple(words))


def _notebook_markdown(lines: list[str]) -> list[str]:
    """The markdown cells of a percent-format page, other lines blanked (numbers kept)."""
    out, in_markdown = [], False
    for line in lines:
        if line.startswith("# %%"):
            in_markdown = "[markdown]" in line
            out.append("")
        elif in_markdown and (line == "#" or line.startswith("# ")):
            out.append(line[2:])
        else:
            in_markdown = False
            out.append("")
    return out


def _tab_commands(file: str, source: str) -> Iterator[Documented]:
    """The string values of every ``book.tabs({...})`` call."""
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Dict)):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name != "tabs":
            continue
        for value in node.args[0].values:
            try:
                code = ast.literal_eval(value)
            except ValueError:
                continue
            if isinstance(code, str):
                # one source line per "\n" when the string is split over lines, else all on one
                numbered = (
                    (min(value.lineno + k, value.end_lineno), t)
                    for k, t in enumerate(code.splitlines())
                )
                for n, words in shell_commands(numbered):
                    yield Documented(file, n, tuple(words))


def _docstring_commands(file: str, source: str) -> Iterator[Documented]:
    """Indented command lines of the module docstring, read from the source lines.

    The source, not the string value: a backslash at the end of a line in a
    plain docstring joins the lines in the value and so would shift numbers.
    """
    tree = ast.parse(source)
    if not (tree.body and isinstance(tree.body[0], ast.Expr)):
        return
    doc = tree.body[0]
    lines = source.splitlines()[doc.lineno - 1 : doc.end_lineno]
    numbered = [(doc.lineno + k, line) for k, line in enumerate(lines) if line.startswith("    ")]
    for n, words in shell_commands(numbered):
        yield Documented(file, n, tuple(words))


def sources(root: Path = REPO) -> dict[str, list[Path]]:
    return {
        "markdown": [root / "README.md", *sorted((root / "docs").rglob("*.md"))],
        "notebook": sorted((root / "docs").rglob("*.py")),
        "example": sorted((root / "examples").glob("*.py")),
    }


def collect(root: Path = REPO) -> list[Documented]:
    """Every documented command, in file order."""
    found: list[Documented] = []
    files = sources(root)
    for path in files["markdown"]:
        if "vendor" in path.parts:
            continue
        found += _markdown(str(path.relative_to(root)), path.read_text().splitlines())
    for path in files["notebook"]:
        rel, source = str(path.relative_to(root)), path.read_text()
        found += _markdown(rel, _notebook_markdown(source.splitlines()))
        found += _tab_commands(rel, source)
    for path in files["example"]:
        found += _docstring_commands(str(path.relative_to(root)), path.read_text())
    return sorted(set(found), key=lambda d: (d.file, d.line, d.tokens))


# --------------------------------------------------------------------------- rewriting

# Stand-ins the test fills in per run (generated data, a trained checkpoint).
FOLDER, CHECKPOINT, IMAGE = "{folder}", "{checkpoint}", "{image}"


@dataclass(frozen=True)
class Budget:
    """The flags a program takes that bound its work (None: it has no such flag)."""

    epochs: str | None = None
    steps: str | None = None
    subset: str | None = None
    seeds: str | None = None
    trains: bool = True  # False: no training, so it runs in a second or two


# Per program (the words after the interpreter): what bounds it. A new program
# gets an entry here, or its documented commands fail as not runnable.
PROGRAMS = {
    "cnnbook train": Budget("--epochs", "--max-steps", "--subset"),
    "cnnbook predict": Budget(trains=False),
    "cnnbook summary": Budget(trains=False),
    "cnnbook models": Budget(trains=False),
    "cnnbook --help": Budget(trains=False),
    "cnnbook results": Budget(),  # `record` is bounded by dry_run_records below
    "examples/train.py": Budget("--epochs", None, "--subset"),
    "examples/predict.py": Budget(),
    "examples/cifar_resnet.py": Budget(None, "--max-steps", "--subset"),
    "examples/kernel_size_experiment.py": Budget("--epochs", None, "--subset", "--seeds"),
    "examples/slimming_experiment.py": Budget(None, "--steps", "--subset", "--seeds"),
    "benchmarks/gpu_report.py": Budget(),  # bounded by dry_run_gpu_report below
}

PREDICTORS = {"cnnbook predict", "examples/predict.py"}  # their image arguments are the reader's
EPOCHS, STEPS, SUBSET, BATCH, IMAGE_SIDE = "1", "2", "64", 16, 64
GPU_ONLY_FLAGS = {"--amp", "--compile"}
DOWNLOADED = {"cifar10", "fashion_mnist"}
PLACEHOLDERS = {"NAME": "vgg_mini"}  # `cnnbook summary NAME`
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _value(args: list[str], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args[:-1] else None


def _set(args: list[str], flag: str, value: str) -> list[str]:
    """``flag value`` replaces the flag's value, or is appended."""
    if flag in args[:-1]:
        i = args.index(flag)
        return [*args[: i + 1], value, *args[i + 2 :]]
    return [*args, flag, value]


def split_equals(args: list[str]) -> list[str]:
    """``--flag=value`` -> ``--flag value``, so every rule sees one spelling."""
    out: list[str] = []
    for a in args:
        out += a.split("=", 1) if a.startswith("--") and "=" in a else [a]
    return out


def on_cpu(args: list[str]) -> list[str]:
    """``--device cuda|cuda:N|auto|mps`` -> ``cpu``: CI has no accelerator."""
    return _set(args, "--device", "cpu") if "--device" in args else args


def drop_gpu_only(args: list[str]) -> list[str]:
    """Drop ``--amp`` and ``--compile``.

    bf16 autocast is emulated (slowly) on a CPU, and torch.compile spends
    tens of seconds compiling C++ for each model before the first step; the
    flags only make sense on the GPU the documented command asks for.
    """
    return [a for a in args if a not in GPU_ONLY_FLAGS]


def fake_data(args: list[str]) -> list[str]:
    """``--data cifar10|fashion_mnist --download`` -> ``--data fake``: CI downloads nothing."""
    if _value(args, "--data") in DOWNLOADED:
        args = [a for a in _set(args, "--data", "fake") if a != "--download"]
    return args


def tiny_folder(args: list[str]) -> list[str]:
    """An ImageFolder path (``path/to/PotatoPlants``) -> a tiny folder the test generates."""
    data = _value(args, "--data")
    return _set(args, "--data", FOLDER) if data and "/" in data else args


def small_budget(args: list[str], budget: Budget) -> list[str]:
    """One epoch, two steps, 64 images, one seed: enough to run every line once."""
    if budget.epochs:
        args = _set(args, budget.epochs, EPOCHS)
    if budget.steps:
        args = _set(args, budget.steps, STEPS)
    if budget.subset:
        args = _set(args, budget.subset, SUBSET)
    if budget.seeds and budget.seeds in args:
        i = args.index(budget.seeds) + 1
        j = i
        while j < len(args) and not args[j].startswith("--"):
            j += 1
        args = [*args[:i], "0", *args[j:]]
    return args


def small_batches(args: list[str]) -> list[str]:
    """Batches of at most 16: a GPU batch of 2048 from 64 images would be no batch at all."""
    size = _value(args, "--batch-size")
    return _set(args, "--batch-size", str(BATCH)) if size and int(size) > BATCH else args


def small_images(args: list[str]) -> list[str]:
    """``--image-size`` above 64 -> 64: still a resize, at a twelfth of 224's cost."""
    size = _value(args, "--image-size")
    if size and int(size) > IMAGE_SIDE:
        return _set(args, "--image-size", str(IMAGE_SIDE))
    return args


def thin_networks(args: list[str]) -> list[str]:
    """``--base-width`` above 1/16 -> 1/16: a full-width VGG-16 trains for minutes on a CPU.

    The slimming experiment's own CPU default is 1/16; the command still runs
    every line of the script, only on thinner convolutions.
    """
    width = _value(args, "--base-width")
    return _set(args, "--base-width", "0.0625") if width and float(width) > 0.0625 else args


def dry_run_records(args: list[str]) -> list[str]:
    """``results record`` trains for most of an hour: CI takes its ``--dry-run``.

    The dry run goes through every step of the real one (each network, each
    seed, the file with its fingerprint) on 128 images at 8x8, and writes to
    a temporary file, never into ``docs/results/``.
    """
    return [*args, "--dry-run"] if args[:1] == ["record"] and "--dry-run" not in args else args


def dry_run_gpu_report(args: list[str]) -> list[str]:
    """The GPU report needs a GPU: CI runs its ``--dry-run`` (the same code, seconds, CPU)."""
    if "--dry-run" in args:
        return args
    return [*args, "--dry-run", "--out", "gpu-report-dry-run.json"]


def predict_inputs(args: list[str]) -> list[str]:
    """A checkpoint and an image the test makes stand in for the reader's own files."""
    args = _set(args, "--checkpoint", CHECKPOINT) if "--checkpoint" in args else args
    return [IMAGE if a.lower().endswith(IMAGE_SUFFIXES) else a for a in args]


def placeholders(args: list[str]) -> list[str]:
    """``NAME`` in ``cnnbook summary NAME`` -> a real model name."""
    return [PLACEHOLDERS.get(a, a) for a in args]


def planted_weights(argv: list[str]) -> list[str]:
    """``--weights NAME`` downloads ImageNet weights: CI plants random ones in their place.

    The command then runs through this file's ``__main__``, which saves a
    random state dict of the model's architecture into a fresh torch hub cache
    (``torch-home/`` in the working directory) under the file name torchvision
    looks for, points ``TORCH_HOME`` at it and runs the command: the whole
    ``--weights`` path, offline, with the weights' values the only stand-in.
    """
    if "--weights" not in argv:
        return argv
    return [sys.executable, str(Path(__file__).resolve()), PLANT, "--", *argv]


PLANT = "--plant-weights"


def _plant_and_run(argv: list[str]) -> None:
    """Plant the weights ``argv`` asks for, then run ``argv`` in this process.

    In this process, not a new one: it has imported torch already (four seconds
    of every new interpreter), and ``forkrun.as_main`` runs a command exactly as
    its interpreter would.
    """
    import os

    import forkrun
    import torch

    from cnnbook import compat, models, pretrained

    name = _value(argv, "--model") or "vgg_mini"
    entry = pretrained.weights(name, _value(argv, "--weights") or "DEFAULT")
    home = Path.cwd() / "torch-home"
    os.environ["TORCH_HOME"] = str(home)
    path = Path(pretrained.cache_path(entry))
    path.parent.mkdir(parents=True, exist_ok=True)
    source = compat.randomize_weights(models.create(name), seed=0)
    torch.save(compat.to_torchvision_state_dict(source), path)
    sys.exit(forkrun.as_main(argv))


def _torchrun(words: list[str]) -> tuple[list[str], list[str]]:
    """Split ``torchrun [options] target...`` into its options and the target's words."""
    i = 1
    while i < len(words) and words[i].startswith("--"):
        i += 1
    return words[1:i], words[i:]


def _program(words: list[str]) -> tuple[list[str], str, list[str]]:
    """(argv prefix, key into PROGRAMS, remaining arguments) of one command."""
    bin_dir = Path(sys.executable).parent
    name = Path(words[0]).name
    if name == "cnnbook":
        # the console script itself, which the reader types
        prefix, rest = [str(bin_dir / "cnnbook")], words[1:]
    elif name.startswith("python") and words[1:3] == ["-m", "cnnbook"]:
        prefix, rest = [sys.executable, "-m", "cnnbook"], words[3:]
    elif (
        name.startswith("python")
        and words[1:2]
        and words[1].startswith(("examples/", "benchmarks/"))
    ):
        prefix, rest = [sys.executable, str(REPO / words[1])], words[2:]
        return prefix, words[1], rest
    else:
        raise NotRunnable(f"no rule runs {' '.join(words)!r}")
    sub = rest[0] if rest else ""
    key = f"cnnbook {sub}" if sub else "cnnbook"
    if key not in PROGRAMS:
        raise NotRunnable(f"no budget is known for {key!r}: add it to PROGRAMS")
    return [*prefix, sub], key, rest[1:]


def two_processes(words: list[str]) -> list[str]:
    """``torchrun --nproc_per_node=N ...`` -> two gloo processes on this machine.

    Two is the smallest number that proves the data-parallel path (gradient
    all-reduce, sampler sharding, rank-0 writes); the CPU device picks gloo.
    """
    options, target = _torchrun(words)
    if any(o.startswith("--nnodes") for o in options):
        raise NotRunnable("a launch over several machines cannot run on one")
    if not target:
        raise NotRunnable("torchrun without a program to start")
    # the target is what follows "python": "-m cnnbook train ..." or "examples/train.py ..."
    target = ["python", *target]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    argv, _ = rewrite_words(target, plant=False)
    return [*launcher, *argv[1:]]


def rewrite_words(words: list[str], plant: bool = True) -> tuple[list[str], bool]:
    """(argv, trains) for one documented command; raises NotRunnable."""
    if Path(words[0]).name == "torchrun":
        return planted_weights(two_processes(words)), True
    prefix, key, args = _program(words)
    budget = PROGRAMS.get(key)
    if budget is None:
        raise NotRunnable(f"no budget is known for {key!r}: add it to PROGRAMS")
    args = split_equals(args)
    rules = (on_cpu, drop_gpu_only, fake_data, tiny_folder, small_batches, small_images)
    for rule in (*rules, thin_networks, dry_run_records):
        args = rule(args)
    args = small_budget(args, budget)
    if key in PREDICTORS:
        args = predict_inputs(args)
    if key == "benchmarks/gpu_report.py":
        args = dry_run_gpu_report(args)
    args = placeholders(args)
    argv = [*prefix, *args]
    return (planted_weights(argv) if plant else argv), budget.trains


def rewrite(command: Documented) -> tuple[list[str], bool]:
    """The argv CI runs for ``command`` and whether it trains (and so is slow)."""
    return rewrite_words(list(command.tokens))


if __name__ == "__main__" and sys.argv[1:2] == [PLANT]:  # see planted_weights
    _plant_and_run(sys.argv[3:])
