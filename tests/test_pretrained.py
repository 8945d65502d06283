"""Starting from trained weights: the head, the backbone, freezing, and ``--weights``.

The whole ``cnnbook train --weights`` path runs here without a download: a
state dict of the right architecture (random values) is planted in a
temporary torch hub cache under the file name torchvision looks for, so
torchvision's own loader finds it there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest
import torch

from cnnbook import cli, compat, data, engine, models, pretrained
from cnnbook.errors import CheckpointError, ModelError

RUN = ["--data", "fake", "--subset", "8", "--image-size", "32", "--batch-size", "4"]
RUN += ["--max-steps", "1", "--epochs", "1", "--device", "cpu", "--quiet"]


def run(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_sentence(code, err, *fragments):
    assert code == cli.EXIT_USAGE, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], lines[0]


def plant(torch_home: Path, model_name: str = "resnet18", seed: int = 1) -> dict:
    """Save random weights where torch's hub cache would keep ``model_name``'s DEFAULT file."""
    entry = pretrained.weights(model_name, "DEFAULT")
    source = compat.randomize_weights(models.create(model_name), seed=seed)
    state = compat.to_torchvision_state_dict(source)
    path = torch_home / "hub" / "checkpoints" / Path(entry.url).name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


@pytest.fixture
def no_network(monkeypatch):
    def refuse(url, *args, **kwargs):
        raise urllib.error.URLError("network blocked by the test")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


# --------------------------------------------------------------------------- the parts


def test_head_is_the_last_linear_layer():
    assert pretrained.head_name(models.create("resnet18")) == "fc"
    assert pretrained.head_name(models.create("vgg11", image_size=32)) == "classifier.6"
    with pytest.raises(ModelError, match="no linear layer"):
        pretrained.head_name(torch.nn.Conv2d(3, 4, 3))


def test_load_backbone_copies_all_but_the_head_and_refuses_a_partial_fit():
    torch.manual_seed(0)
    source = models.create("cifar_resnet20", num_classes=10, base_channels=4)
    target = models.create("cifar_resnet20", num_classes=3, base_channels=4)
    head_before = target.fc.weight.clone()
    left = pretrained.load_backbone(target, source.state_dict())
    assert left == ["fc.weight", "fc.bias"]
    for key, value in target.state_dict().items():
        if not key.startswith("fc."):
            assert torch.equal(value, source.state_dict()[key]), key
    assert torch.equal(target.fc.weight, head_before)
    partial = {k: v for k, v in source.state_dict().items() if k != "conv1.weight"}
    with pytest.raises(CheckpointError, match="lack .conv1.weight."):
        pretrained.load_backbone(target, partial)
    wider = models.create("cifar_resnet20", num_classes=3, base_channels=8)
    with pytest.raises(CheckpointError, match="shape mismatch"):
        pretrained.load_backbone(wider, source.state_dict())


def test_frozen_backbone_computes_the_same_function_while_the_head_learns():
    torch.manual_seed(0)
    model = models.create("cifar_resnet20", num_classes=3, base_channels=4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert pretrained.freeze_backbone(model) == len(list(model.parameters())) - 2
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    model.train()  # what fit() does every epoch
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(
            model(torch.randn(8, 3, 16, 16)), torch.arange(8) % 3
        ).backward()
        opt.step()
    after = model.state_dict()
    changed = [k for k in after if not torch.equal(after[k], before[k])]
    assert changed == ["fc.weight", "fc.bias"]  # batch-norm statistics included


def test_weights_names_are_checked_before_any_download():
    assert pretrained.weights("resnet18", "DEFAULT").name == "IMAGENET1K_V1"
    assert pretrained.weights("resnet50", "ResNet50_Weights.IMAGENET1K_V2").name == "IMAGENET1K_V2"
    with pytest.raises(ModelError, match="choose one of: IMAGENET1K_V1, DEFAULT"):
        pretrained.weights("resnet18", "IMAGENET")
    with pytest.raises(ModelError, match="no torchvision weights; --weights works with: vgg11"):
        pretrained.weights("vgg_mini", "DEFAULT")


# --------------------------------------------------------------------------- the command


@pytest.mark.slow
def test_train_with_planted_weights_loads_them_and_freezing_keeps_them(
    torch_home, no_network, tmp_path, capsys, monkeypatch
):
    planted = plant(torch_home)
    seen = {}
    real_load = data.load

    def spy(name, **options):
        seen.update(options)
        return real_load(name, **options)

    monkeypatch.setattr(data, "load", spy)
    for freeze in (True, False):
        out = tmp_path / f"run-freeze-{freeze}"
        argv = ["train", "--model", "resnet18", "--weights", "IMAGENET1K_V1", *RUN]
        argv += ["--out", str(out)] + (["--freeze-backbone"] if freeze else [])
        code, _, err = run(argv, capsys)
        assert code == 0, err
        assert (seen["channels"], seen["pretrained"]) == (3, True)  # RGB, ImageNet statistics
        state = engine.checkpoint.load(out / "last.pt")
        assert state["meta"]["weights"] == "IMAGENET1K_V1"
        trained = state["model"]
        assert trained["fc.weight"].shape == (10, 512)  # a new head for fake's 10 classes
        backbone = [k for k in trained if not k.startswith("fc.")]
        same = [k for k in backbone if torch.equal(trained[k], planted[k])]
        if freeze:  # every weight and batch-norm statistic is still the planted one
            assert same == backbone
        else:  # the same start, then one step moved the backbone
            assert torch.equal(trained["conv1.weight"], planted["conv1.weight"]) is False
            assert len(same) < len(backbone)
    model, _ = engine.load_model(out / "best.pt")  # the checkpoint rebuilds by name
    assert model.fc.out_features == 10


def test_offline_without_a_cached_file_is_one_sentence(torch_home, no_network, tmp_path, capsys):
    argv = ["train", "--model", "resnet18", "--weights", "DEFAULT", *RUN]
    code, _, err = run(argv + ["--out", str(tmp_path / "run")], capsys)
    expected = torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert_one_sentence(
        code, err, "could not download ResNet18_Weights.IMAGENET1K_V1", str(expected)
    )
    assert not (tmp_path / "run").exists()  # it failed before anything was written


def test_unreadable_cached_file_is_one_sentence(torch_home, no_network, tmp_path, capsys):
    path = Path(pretrained.cache_path(pretrained.weights("resnet18", "DEFAULT")))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a state dict")
    argv = ["train", "--model", "resnet18", "--weights", "DEFAULT", *RUN]
    code, _, err = run(argv + ["--out", str(tmp_path / "run")], capsys)
    assert_one_sentence(code, err, "is not a readable state dict; delete it")


@pytest.mark.parametrize(
    "extra, fragments",
    [
        (
            ["--model", "resnet18", "--weights", "IMAGENET"],
            ["choose one of: IMAGENET1K_V1, DEFAULT"],
        ),
        (["--model", "vgg_mini", "--weights", "DEFAULT"], ["has no torchvision weights"]),
        (["--model", "resnet18", "--freeze-backbone"], ["--freeze-backbone needs --weights"]),
        (
            ["--model", "resnet18", "--weights", "DEFAULT", "--freeze-backbone", "--sync-bn"],
            ["cannot be combined with --sync-bn"],
        ),
    ],
)
def test_bad_weights_options_are_one_sentence(extra, fragments, torch_home, no_network, capsys):
    code, _, err = run(["train", *extra, *RUN], capsys)
    assert_one_sentence(code, err, *fragments)


@pytest.mark.slow
def test_offline_in_a_real_process_is_one_sentence(tmp_path):
    # No monkeypatching: urllib itself fails on a proxy that refuses connections.
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    env.update({k: "http://127.0.0.1:9" for k in ("https_proxy", "HTTPS_PROXY", "http_proxy")})
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    argv = [sys.executable, "-m", "cnnbook", "train", "--model", "resnet18"]
    argv += ["--weights", "DEFAULT", *RUN, "--out", str(tmp_path / "run")]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert_one_sentence(
        done.returncode, done.stderr, "could not download", "connect to the network"
    )


# --------------------------------------------------------------------------- documented commands


def test_documented_weights_commands_get_planted_weights():
    # How a shown `--weights` command is rewritten; test_documented_commands runs
    # every such command that way, with the network refused and torch's cache empty.
    sys.path.insert(0, str(Path(__file__).parent))
    import doc_commands as dc

    plain, _ = dc.rewrite_words(["cnnbook", "train", "--model", "resnet18"])
    assert dc.PLANT not in plain
    words = ["cnnbook", "train", "--model", "resnet18", "--weights", "DEFAULT", "--data", "fake"]
    argv, trains = dc.rewrite_words(words)
    assert trains and argv[1:4] == [str(Path(dc.__file__).resolve()), dc.PLANT, "--"]
    assert argv[4:] == dc.rewrite_words(words, plant=False)[0]
