"""The cnnbook command: a working run, and one sentence for every bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import forkrun
import pytest
import torch
from PIL import Image

from cnnbook import cli

FAST = ["--data", "fake", "--subset", "64", "--epochs", "1", "--batch-size", "32", "--quiet"]


def run(argv, capsys):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own exit
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_sentence(code, err, *fragments):
    assert code not in (0, None)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], lines[0]


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert cli.main(["train", *FAST, "--out", str(out)]) == 0
    return out


@pytest.fixture
def trained(trained_once, tmp_path):
    """A private copy of one short training run's output directory."""
    import shutil

    return Path(shutil.copytree(trained_once, tmp_path / "run"))


def test_train_writes_checkpoints_and_figures(trained):
    assert {"best.pt", "last.pt", "history.json", "curves.png", "confusion.png"} <= {
        p.name for p in trained.iterdir()
    }
    ckpt = torch.load(trained / "best.pt", weights_only=True)
    assert ckpt["meta"]["model"] == "vgg_mini"
    assert ckpt["meta"]["data"]["image_size"] == 32
    assert len(json.loads((trained / "history.json").read_text())["epochs"]) == 1


def test_predict_prints_a_class(trained, tmp_path, capsys):
    img = tmp_path / "x.png"
    Image.fromarray((torch.rand(40, 40, 3) * 255).byte().numpy()).save(img)
    code, out, err = run(
        ["predict", "--checkpoint", str(trained / "best.pt"), str(img), "--top-k", "2"], capsys
    )
    assert code == 0, err
    assert out.startswith(f"{img}: ") and out.count("%") == 2


def test_summary_shows_params_and_macs(capsys):
    code, out, _ = run(["summary", "vgg_mini"], capsys)
    assert code == 0
    assert "1x1x28x28" in out and "Total params" in out and "Total mult-adds" in out
    code, _, err = run(["summary", "vgg_mini", "--input-size", "3", "224"], capsys)
    assert_one_sentence(code, err, "C H W")
    code, _, err = run(["summary", "nope"], capsys)
    assert_one_sentence(code, err, "unknown model 'nope'", "vgg_mini")


def _folder(tmp_path, kind):
    root = tmp_path / kind
    if kind == "empty":
        root.mkdir()
    elif kind in ("one_class", "corrupt"):
        for cls in ("a",) if kind == "one_class" else ("a", "b"):
            (root / cls).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (8, 8), (i * 50, 0, 0)).save(root / cls / f"{i}.png")
        if kind == "corrupt":
            (root / "b" / "bad.jpg").write_bytes(b"not a jpeg at all")
    return str(root)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--data", "{missing}"], ["does not exist"]),
        (["--data", "{empty}"], ["is empty"]),
        (["--data", "{one_class}"], ["only one class"]),
        (["--data", "{corrupt}"], ["bad.jpg"]),
        (["--data", "imagenet"], ["unknown dataset 'imagenet'", "mnist"]),
        (["--model", "vgg99"], ["unknown model 'vgg99'", "vgg16"]),
        (["--epochs", "0"], ["--epochs", "positive"]),
        (["--batch-size", "-4"], ["--batch-size", "positive"]),
        (["--lr", "0"], ["--lr", "positive"]),
        (["--lr", "abc"], ["--lr", "positive number"]),
        (["--device", "cuda"], ["no CUDA GPU"]),
        (["--image-size", "4"], ["at least 8x8", "4x4"]),
    ],
)
def test_bad_training_input(args, fragments, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    paths = {k: _folder(tmp_path, k) for k in ("empty", "one_class", "corrupt")}
    paths["missing"] = str(tmp_path / "missing")
    args = [a.format(**paths) for a in args]
    code, _, err = run(["train", *FAST, "--out", str(tmp_path / "out"), *args], capsys)
    assert_one_sentence(code, err, *fragments)
    assert not (tmp_path / "out" / "last.pt").exists()


def test_resume_refusals_keep_checkpoints_byte_identical(trained, tmp_path, capsys):
    before = snapshot(trained)
    code, _, err = run(["train", *FAST, "--out", str(tmp_path / "elsewhere"), "--resume"], capsys)
    assert_one_sentence(code, err, "no checkpoint")
    code, _, err = run(["train", *FAST, "--out", str(trained)], capsys)
    assert_one_sentence(code, err, "already holds a checkpoint", "--resume")
    code, _, err = run(
        ["train", *FAST, "--model", "vgg11_blocks", "--out", str(trained), "--resume"], capsys
    )
    assert_one_sentence(code, err, "holds a 'vgg_mini' model")
    assert snapshot(trained) == before
    (trained / "last.pt").write_bytes(before["last.pt"][:1000])
    truncated = snapshot(trained)
    code, _, err = run(["train", *FAST, "--out", str(trained), "--resume"], capsys)
    assert_one_sentence(code, err, "truncated or corrupt")
    assert snapshot(trained) == truncated


def test_predict_bad_files(trained, tmp_path, capsys):
    ckpt = str(trained / "best.pt")
    code, _, err = run(["predict", "--checkpoint", ckpt, str(tmp_path / "nope.png")], capsys)
    assert_one_sentence(code, err, "no image file")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    code, _, err = run(["predict", "--checkpoint", ckpt, str(text)], capsys)
    assert_one_sentence(code, err, "not an image")
    code, _, err = run(["predict", "--checkpoint", str(tmp_path / "none.pt"), str(text)], capsys)
    assert_one_sentence(code, err, "no checkpoint")


def _history(out: Path) -> list[dict]:
    rows = json.loads((out / "history.json").read_text())["epochs"]
    return [{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in rows]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path):
    args = [sys.executable, "-m", "cnnbook", "train", "--data", "fake", "--subset", "192",
            "--epochs", "3", "--batch-size", "32", "--quiet"]  # fmt: skip
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    # The two runs that end normally fork from this process (forkrun: no new
    # interpreter to start); the one that is killed is a real process.
    full = forkrun.run([*args, "--out", str(tmp_path / "full")], tmp_path, env, timeout=300)
    assert full.returncode == 0, full.stderr

    out = tmp_path / "killed"
    proc = subprocess.Popen([*args, "--out", str(out)], env=env, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (out / "last.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)  # epoch 1 is saved; the process is now inside epoch 2
    assert proc.wait() == -signal.SIGKILL
    done = torch.load(out / "last.pt", weights_only=True)["epoch"]
    assert 1 <= done < 3

    resumed = forkrun.run([*args, "--out", str(out), "--resume"], tmp_path, env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert _history(out) == _history(tmp_path / "full")


@pytest.mark.parametrize(
    "flag, expected", [([], None), (["--augment"], True), (["--no-augment"], False)]
)
def test_augment_flag_reaches_the_loader(flag, expected, monkeypatch, tmp_path, capsys):
    from cnnbook import data
    from cnnbook.errors import DataError

    seen = {}

    def spy(name, **options):
        seen.update(options)
        raise DataError("stopped after loading")  # the rest of training is not the point

    monkeypatch.setattr(data, "load", spy)
    code, _, err = run(["train", "--data", "textures", *flag, "--out", str(tmp_path)], capsys)
    assert code != 0 and "stopped after loading" in err
    assert "augment" in seen and seen["augment"] is expected
