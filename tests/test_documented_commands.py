"""Every command shown to a reader runs: README, pages and example docstrings.

Each documented command is rewritten by ``doc_commands`` to run on the CPU,
on fake or generated data, with a budget of a few steps (the rules and why
they exist are there), then run from an empty working directory. A command
that cannot run here at all is listed in NOT_RUN with the reason; anything
else that no rule can run fails, so a new command cannot be skipped silently.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import textwrap

import doc_commands as dc
import forkrun
import pytest
import torch
from doc_commands import CHECKPOINT, FOLDER, IMAGE, Documented

# The only documented commands CI does not run, keyed by their text as shown.
NOT_RUN = {
    "make serve": "serves the site until stopped, after executing every page for minutes",
    "make test": "is the suite this test belongs to",
    "make build": "executes every page for minutes; `make test` runs it as its own step",
    "make setup": "creates .venv/ from the network; every other target depends on it",
    "make lock": "rewrites requirements/lock.txt from whatever .venv/ holds",
    **dict.fromkeys(
        (".venv/bin/cnnbook results check", "cnnbook results check"),
        "`make test` runs exactly this command as its own step (`make results`)",
    ),
    "pip install -e .": "installs into the running environment; `make setup` does just that",
    (
        "torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=host0:29500 "
        "--rdzv_id=vgg-run-1 -m cnnbook train --model resnet50 --data /data/imagenet-folder "
        "--device cuda --batch-size 4096 --lr 1.6 --warmup-steps 1565 --weight-decay 1e-4"
    ): "needs two machines that reach host0; the one-machine torchrun commands run instead",
}

ENV = {
    **{k: v for k, v in os.environ.items() if k.lower() != "no_proxy"},
    "MPLBACKEND": "Agg",
    "CUDA_VISIBLE_DEVICES": "",
    "CNNBOOK_DIST_TIMEOUT": "60",  # a crashed rank ends the launch in a minute, not half an hour
    # Nothing a page shows may download: the network is refused (a proxy nobody
    # answers), and torch's cache is empty, so `--weights` commands run on the file
    # doc_commands plants and on nothing else.
    **dict.fromkeys(
        ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"), "http://127.0.0.1:9"
    ),
    "TORCH_HOME": os.path.join(tempfile.gettempdir(), "cnnbook-empty-torch-home"),
}

DOCUMENTED = dc.collect()
#: The rewritten commands that train (filled by _runs).
TRAINING: list[list[str]] = []


def _runs() -> list:
    """One pytest param per distinct rewritten command; its id is where it is first shown."""
    seen: dict[tuple[str, ...], list[Documented]] = {}
    trains: dict[tuple[str, ...], bool] = {}
    for command in DOCUMENTED:
        if command.text in NOT_RUN:
            continue
        try:
            argv, slow = dc.rewrite(command)
        except dc.NotRunnable:
            continue  # reported by test_every_documented_command_runs_or_is_listed
        seen.setdefault(tuple(argv), []).append(command)
        trains[tuple(argv)] = slow or CHECKPOINT in argv
    params, ids = [], set()
    for argv, shown in seen.items():
        # two commands on one line (a tab of two) get "file:line", then "file:line+1"
        where, n = shown[0].where, 1
        while where in ids:
            where, n = f"{shown[0].where}+{n}", n + 1
        ids.add(where)
        marks = [pytest.mark.slow] if trains[argv] else []
        if trains[argv]:
            TRAINING.append(list(argv))
        params.append(pytest.param(list(argv), shown, id=where, marks=marks))
    return params


# --------------------------------------------------------------------------- inputs


@pytest.fixture(scope="module")
def commands_inputs(tmp_path_factory):
    """Stand-ins for the reader's files: an ImageFolder tree, an image, a lazy checkpoint."""
    from PIL import Image

    root = tmp_path_factory.mktemp("commands")
    g = torch.Generator().manual_seed(0)
    folder = root / "folder"
    for k, name in enumerate(("healthy", "blight")):
        (folder / name).mkdir(parents=True)
        for i in range(12):
            arr = (torch.rand(20, 20, 3, generator=g) * 100 + 120 * k).clamp(0, 255).byte()
            Image.fromarray(arr.numpy()).save(folder / name / f"{i}.png")
    image = root / "image.png"
    Image.fromarray((torch.rand(28, 28, generator=g) * 255).byte().numpy()).save(image)
    return {FOLDER: folder, IMAGE: image, CHECKPOINT: root / "ckpt" / "best.pt"}


def _checkpoint(path):
    """Train the smallest checkpoint once, for the predict commands."""
    if not path.is_file():
        argv, _ = dc.rewrite_words(
            ["cnnbook", "train", "--data", "textures", "--quiet", "--out", str(path.parent)]
        )
        proc = forkrun.run(argv, path.parent.parent, ENV, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return path


def _fill(argv: list[str], inputs: dict) -> list[str]:
    if CHECKPOINT in argv:
        _checkpoint(inputs[CHECKPOINT])
    return [str(inputs.get(a, a)) for a in argv]


# --------------------------------------------------------------------------- the commands


def _real_process(argv: list[str], cwd, env, timeout: float) -> forkrun.Completed:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return forkrun.Completed(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize("argv, shown", _runs())
def test_documented_command_runs(argv, shown, commands_inputs, tmp_path):
    # Commands that train run in a forked child of this process (forkrun says why);
    # the others, the console script among them, start a real interpreter each.
    run = forkrun.run if argv in TRAINING else _real_process
    argv = _fill(argv, commands_inputs)
    proc = run(argv, tmp_path, ENV, timeout=300)
    where = "\n".join(f"  {c.where}: {c.text}" for c in shown)
    report = (
        f"documented at\n{where}\nran as\n  {' '.join(argv)}\n"
        f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-2000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    )
    assert proc.returncode == 0, report
    assert "Traceback" not in proc.stderr, report


def test_every_documented_command_runs_or_is_listed():
    problems = []
    for command in DOCUMENTED:
        if command.text in NOT_RUN:
            continue
        try:
            dc.rewrite(command)
        except dc.NotRunnable as exc:
            problems.append(f"{command.where}: {command.text}\n    {exc}")
    assert not problems, (
        "documented commands that CI neither runs nor lists in NOT_RUN "
        "(teach doc_commands to run them, or list them with the reason):\n" + "\n".join(problems)
    )


def test_every_listed_command_is_still_documented():
    shown = {c.text for c in DOCUMENTED}
    gone = [text for text in NOT_RUN if text not in shown]
    assert not gone, f"NOT_RUN lists commands no page shows any more: {gone}"


def test_the_commands_of_every_kind_of_source_are_found():
    texts = {(c.file, c.text) for c in DOCUMENTED}
    expected = [
        # a docstring line continued with a backslash, its trailing comment dropped
        ("examples/train.py", "python examples/train.py --device cuda --model vgg16 --data cifar10 "
         "--download --image-size 32 --epochs 30 --batch-size 256"),
        # the same with an escaped backslash ("\\") in the docstring source
        ("examples/slimming_experiment.py", "python examples/slimming_experiment.py --data cifar10 "
         "--download --device cuda --image-size 32 --base-width 1 --steps 3000"),
        # a fenced block inside a content tab, indented, with a comment line first
        ("docs/getting-started.md", ".venv/bin/cnnbook train --model vgg11_quarter "
         "--data fashion_mnist --download --image-size 224 --epochs 10 --batch-size 128 "
         "--lr 0.05 --device cuda"),
        # the alternative given in a comment
        ("README.md", "python -m cnnbook --help"),
        # a book.tabs value of two implicitly concatenated strings
        ("docs/vgg/slimming.py", "python examples/slimming_experiment.py --data cifar10 --download "
         "--device cuda --image-size 32 --base-width 1 --steps 3000 --out slim-cifar.json"),
        # an inline code span over two comment lines of a notebook's markdown cell
        ("docs/scale/scaling-up.py", "torchrun --nproc_per_node=2 examples/train.py"),
        # a fenced block inside a notebook's markdown cell
        ("docs/vgg/training.py", "cnnbook train --model vgg16_cifar --data cifar10 --download "
         "--device cuda --batch-size 256 --lr 0.05 --weight-decay 5e-4 --scheduler cosine --epochs 30"),
    ]  # fmt: skip
    missing = [e for e in expected if e not in texts]
    assert not missing, missing
    # every example documents at least its default run
    for path in dc.sources()["example"]:
        assert ("examples/" + path.name) in {c.file for c in DOCUMENTED}, path.name


# --------------------------------------------------------------------------- the parsers


def test_markdown_blocks_and_inline_spans():
    page = textwrap.dedent(
        """\
        Run `cnnbook train --epochs 2` or the bare `cnnbook` command.

        ```bash
        $ make serve   # serves
        # a comment line
        python examples/train.py \\
            --data mnist
        echo not a command
        ```

        ```python
        cnnbook = "not a shell block"
        ```
        """
    ).splitlines()
    got = [(d.line, d.text) for d in dc._markdown("page.md", page)]
    assert got == [
        (4, "make serve"),
        (6, "python examples/train.py --data mnist"),
        (1, "cnnbook train --epochs 2"),
    ]


def test_notebook_markdown_keeps_line_numbers_and_skips_code():
    lines = ["# %% [markdown]", "# Run `make test`.", "", "# %%", "# `make serve` in code"]
    assert dc._notebook_markdown(lines) == ["", "Run `make test`.", "", "", ""]


# --------------------------------------------------------------------------- the rules


def _rewritten(text: str) -> list[str]:
    argv, _ = dc.rewrite_words(text.split())
    return argv[1:]


def test_rules_move_gpu_commands_to_a_small_cpu_run():
    args = _rewritten(
        "cnnbook train --device=cuda:1 --data cifar10 --download --amp --compile "
        "--epochs 30 --batch-size 2048 --image-size 224"
    )
    assert args == ["train", "--device", "cpu", "--data", "fake", "--epochs", "1",
                    "--batch-size", "16", "--image-size", "64", "--max-steps", "2",
                    "--subset", "64"]  # fmt: skip


def test_rules_for_folders_seeds_and_reader_files():
    args = _rewritten("python examples/slimming_experiment.py --data path/to/Plants --seeds 0 1 2")
    assert args[1:] == ["--data", FOLDER, "--seeds", "0", "--steps", "2", "--subset", "64"]
    assert _rewritten("cnnbook predict --checkpoint runs/x/best.pt a.jpg")[1:] == [
        "--checkpoint", CHECKPOINT, IMAGE,
    ]  # fmt: skip
    assert _rewritten("cnnbook summary NAME") == ["summary", "vgg_mini"]


def test_torchrun_becomes_two_local_processes():
    argv, trains = dc.rewrite_words(["torchrun", "--nproc_per_node=8", "-m", "cnnbook", "train"])
    assert argv[1:6] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m"]
    assert argv[6:8] == ["cnnbook", "train"] and trains
    with pytest.raises(dc.NotRunnable):
        dc.rewrite_words(["torchrun", "--nnodes=2", "--nproc_per_node=8", "-m", "cnnbook", "train"])


def test_unknown_programs_are_not_runnable():
    for text in ("make docs", "pip install cnnbook", "cnnbook export x", "python tools/x.py"):
        with pytest.raises(dc.NotRunnable):
            dc.rewrite_words(text.split())
