"""cnnbook.engine: the loop learns, is deterministic, stops on NaN, and schedules the lr."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from cnnbook import data, engine, plots
from cnnbook.engine.history import COLUMNS


def test_fit_learns_and_reports_every_column(engine_tiny_model, engine_tiny_data):
    train, val = engine_tiny_data()
    model = engine_tiny_model()
    before = engine.evaluate(model, val)
    h = engine.fit(model, train, val, epochs=4, batch_size=16, lr=0.1, log=False)
    assert len(h) == 4 and list(h.epochs[0]) == list(COLUMNS)
    assert h.epochs[-1]["val_acc"] > 0.9 > before["acc"]
    assert h.epochs[-1]["train_loss"] < h.epochs[0]["train_loss"]
    assert all(r["images_per_s"] > 0 and r["seconds"] > 0 for r in h.epochs)
    after = engine.evaluate(model, val)
    assert after["acc"] == pytest.approx(h.epochs[-1]["val_acc"])
    assert after["loss"] == pytest.approx(h.epochs[-1]["val_loss"], rel=1e-5)
    assert h.best_val_acc == max(h.column("val_acc"))


def test_same_seed_same_history_and_weights(engine_tiny_model, engine_tiny_data):
    runs = []
    for _ in range(2):
        train, val = engine_tiny_data(augment=data.BatchAugment(hflip=True, pad=1))
        model = engine_tiny_model(dropout=0.3)
        h = engine.fit(model, train, val, epochs=2, batch_size=16, lr=0.05, seed=7, log=False)
        runs.append((h.without_timing(), model.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
    train, val = engine_tiny_data(augment=data.BatchAugment(hflip=True, pad=1))
    other = engine.fit(engine_tiny_model(dropout=0.3), train, val, epochs=2, batch_size=16,
                       lr=0.05, seed=8, log=False)  # fmt: skip
    assert other.without_timing() != runs[0][0]


def test_evaluate_matches_a_manual_computation(engine_tiny_model, engine_tiny_data):
    _, val = engine_tiny_data()
    model = engine_tiny_model()
    model.train()
    with torch.no_grad():
        model.eval()
        logits = model(val.images)
        model.train()
    res = engine.evaluate(model, val, batch_size=7)
    assert res["n"] == len(val)
    assert res["loss"] == pytest.approx(
        float(torch.nn.functional.cross_entropy(logits, val.labels)), rel=1e-5
    )
    assert res["acc"] == pytest.approx(float((logits.argmax(1) == val.labels).float().mean()))
    assert model.training, "evaluate must restore the caller's mode"


def test_nan_loss_stops_the_run(engine_tiny_model, engine_tiny_data):
    train, val = engine_tiny_data()
    train.images[5] = float("nan")
    with pytest.raises(engine.TrainingDiverged, match="NaN"):
        engine.fit(engine_tiny_model(), train, val, epochs=2, batch_size=16, log=False)


def test_multistep_schedule_counts_steps(engine_tiny_model, engine_tiny_data):
    train, val = engine_tiny_data(n_train=64)  # 4 steps per epoch at batch 16
    h = engine.fit(engine_tiny_model(), train, val, epochs=3, batch_size=16, lr=0.1,
                   scheduler="multistep", milestones=[4, 8], log=False)  # fmt: skip
    # lr reported = lr of each epoch's last step: steps 3, 7, 11 -> 0.1, 0.01, 0.001
    assert h.column("lr") == pytest.approx([0.1, 0.01, 0.001])


def test_lr_factor_shapes():
    f = engine.lr_factor("multistep", 100, [32, 48], 0.1)
    assert [f(0), f(31), f(32), f(47), f(48)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    w = engine.lr_factor("constant", 100, warmup_steps=4)
    assert [w(0), w(1), w(3), w(50)] == pytest.approx([0.25, 0.5, 1, 1])
    c = engine.lr_factor("cosine", 10)
    assert (c(0), c(5), c(10)) == pytest.approx((1, 0.5, 0))
    assert engine.lr_factor(lambda s: 0.5, 10)(3) == 0.5
    with pytest.raises(engine.ConfigError, match="unknown scheduler"):
        engine.lr_factor("steps", 10)


def test_max_steps_stops_mid_epoch(engine_tiny_model, engine_tiny_data):
    train, val = engine_tiny_data(n_train=64)
    seen = []
    h = engine.fit(engine_tiny_model(), train, val, epochs=10, batch_size=16, max_steps=6,
                   log=False, on_epoch_end=seen.append)  # fmt: skip
    assert len(h) == 2 == len(seen)
    assert h.epochs[1]["images_per_s"] > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"epochs": 1.5}, "epochs"),
        ({"optimizer": "rmsprop"}, "unknown optimizer"),
        ({"resume": True}, "output directory"),
    ],
)
def test_bad_settings_are_one_sentence(kwargs, message, engine_tiny_model, engine_tiny_data):
    train, val = engine_tiny_data()
    with pytest.raises(engine.ConfigError, match=message):
        engine.fit(engine_tiny_model(), train, val, log=False, **kwargs)


def test_device_resolution(monkeypatch):
    assert engine.resolve_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert engine.resolve_device("auto").type in ("cpu", "mps")
    with pytest.raises(engine.DeviceError, match="no CUDA GPU"):
        engine.resolve_device("cuda")
    with pytest.raises(engine.DeviceError, match="unknown device"):
        engine.resolve_device("tpu0")


def test_predict_path_and_pil_and_bad_files(tmp_path, engine_tiny_model):
    model = engine_tiny_model(num_classes=3)
    tf = data.make_eval_transform(3, 8, [0.5] * 3, [0.25] * 3)
    img = Image.fromarray((torch.rand(30, 30, 3) * 255).byte().numpy())
    img.save(tmp_path / "x.png")
    classes = ["a", "b", "c"]
    name, p = engine.predict(model, tmp_path / "x.png", tf, classes)
    model.eval()
    with torch.no_grad():
        probs = model(tf(img).unsqueeze(0)).softmax(1)[0]
    assert name == classes[int(probs.argmax())] and p == pytest.approx(float(probs.max()))
    assert engine.predict(model, img, tf, classes) == (name, pytest.approx(p))
    top = engine.predict(model, img, tf, classes, top_k=3)
    assert [c for c, _ in top][0] == name and sum(q for _, q in top) == pytest.approx(1)
    with pytest.raises(data.DataError, match="no image file"):
        engine.predict(model, tmp_path / "missing.png", tf, classes)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(data.DataError, match="not an image"):
        engine.predict(model, tmp_path / "notes.txt", tf, classes)


def test_predictions_and_plots(tmp_path, engine_tiny_model, engine_tiny_data):
    train, val = engine_tiny_data()
    model = engine_tiny_model()
    h = engine.fit(model, train, val, epochs=2, batch_size=16, lr=0.1, log=False)
    y, p = engine.predictions(model, val, batch_size=10)
    assert torch.equal(y, val.labels)
    m = plots.confusion_matrix(y, p, 4)
    assert int(m.sum()) == len(val)
    assert float(m.diag().sum()) / len(val) == pytest.approx(h.epochs[-1]["val_acc"])
    fig = plots.plot_history(h, tmp_path / "curves.png")
    assert len(fig.axes) == 2 and (tmp_path / "curves.png").stat().st_size > 1000
    plots.plot_confusion(y, p, ["a", "b", "c", "d"], tmp_path / "cm.png")
    assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"


def test_history_round_trip():
    h = engine.History()
    h.append({"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 0.9, "val_acc": 0.6,
              "lr": 0.1, "seconds": 2.0, "images_per_s": 100.0})  # fmt: skip
    h.append({**h.epochs[0], "epoch": 2, "val_acc": 0.55})
    assert engine.History.from_dict(h.to_dict()).epochs == h.epochs
    assert (h.best_epoch, h.best_val_acc) == (1, 0.6)
    assert h.format_row(h.epochs[0], 10).startswith("epoch  1/10  train loss 1.0000")


def test_progress_bar_and_plain_lines(engine_tiny_model, engine_tiny_data, capsys):
    train, val = engine_tiny_data()
    engine.fit(engine_tiny_model(), train, val, epochs=1, batch_size=16, progress=True)
    out, err = capsys.readouterr()
    assert "epoch 1/1" in err and "it/s" in err and out == ""  # bar and summary on the terminal
    engine.fit(engine_tiny_model(), train, val, epochs=1, batch_size=16, progress=False)
    out, err = capsys.readouterr()
    assert out.startswith("epoch 1/1  train loss") and out.count("\n") == 1 and err == ""


@pytest.mark.slow
def test_bf16_autocast_and_channels_last_on_cpu(engine_tiny_model, engine_tiny_data):
    train, val = engine_tiny_data()
    ref = engine.fit(engine_tiny_model(), train, val, epochs=3, batch_size=16, lr=0.1, log=False)
    cl = engine.fit(engine_tiny_model(), train, val, epochs=3, batch_size=16, lr=0.1, log=False,
                    channels_last=True)  # fmt: skip
    bf = engine.fit(engine_tiny_model(), train, val, epochs=3, batch_size=16, lr=0.1, log=False,
                    amp=True)  # fmt: skip
    # channels_last changes memory layout only; bf16 changes rounding, not the outcome
    assert cl.epochs[-1]["train_loss"] == pytest.approx(ref.epochs[-1]["train_loss"], rel=1e-3)
    assert bf.epochs[-1]["val_acc"] > 0.85
    assert bf.epochs[-1]["train_loss"] != ref.epochs[-1]["train_loss"]


def test_fit_on_an_image_folder(engine_image_folder, engine_tiny_model):
    bundle = data.load(str(engine_image_folder), image_size=16, val_fraction=0.25)
    h = engine.fit(engine_tiny_model(num_classes=2), bundle.train, bundle.val, epochs=2,
                   batch_size=4, lr=0.1, log=False)  # fmt: skip
    assert [r["epoch"] for r in h.epochs] == [1, 2] and h.epochs[-1]["val_acc"] is not None
    name, p = engine.predict(engine_tiny_model(num_classes=2), engine_image_folder / "cat" / "0.png",
                             bundle.eval_transform, bundle.classes)  # fmt: skip
    assert name in ("cat", "dog") and 0.5 <= p <= 1


# --------------------------------------------------------------------------- TrainConfig


def test_a_config_and_keyword_overrides_train_the_same(engine_tiny_model, engine_tiny_data):
    train, val = engine_tiny_data()
    config = engine.TrainConfig(epochs=2, batch_size=16, lr=0.1, seed=5, log=False)
    a = engine.fit(engine_tiny_model(), train, val, config)
    b = engine.fit(engine_tiny_model(), train, val, epochs=2, batch_size=16, lr=0.1, seed=5,
                   log=False)  # fmt: skip
    c = engine.fit(engine_tiny_model(), train, val, config, lr=0.01)  # an override wins
    assert a.without_timing() == b.without_timing()
    assert c.column("lr") == [0.01, 0.01] and a.column("lr") == [0.1, 0.1]


def test_train_config_is_checked_and_frozen():
    import dataclasses

    config = engine.TrainConfig(milestones=[30, 10])
    assert config.milestones == (30, 10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 1.0
    assert config.replace(lr=0.5).lr == 0.5 and config.lr == 0.05
    with pytest.raises(engine.ConfigError, match="unknown training setting 'learning_rate'.*lr"):
        config.replace(learning_rate=0.5)
    with pytest.raises(engine.ConfigError, match="lr must be positive"):
        config.replace(lr=-1)
    with pytest.raises(engine.ConfigError, match="label_smoothing"):
        engine.TrainConfig(label_smoothing=1.0)
    with pytest.raises(engine.ConfigError, match="milestones"):
        engine.TrainConfig(milestones=[1.5])
    with pytest.raises(engine.ConfigError, match="unknown scheduler"):
        engine.TrainConfig(scheduler="steps")
    assert engine.TrainConfig(scheduler=lambda s: 1.0).recipe()["scheduler"] == "custom"


def test_fit_rejects_unknown_settings_and_old_config_dicts(engine_tiny_model, engine_tiny_data):
    train, val = engine_tiny_data()
    with pytest.raises(engine.ConfigError, match="unknown training setting 'epoch'; the settings"):
        engine.fit(engine_tiny_model(), train, val, epoch=2)
    with pytest.raises(engine.ConfigError, match="meta="):
        engine.fit(engine_tiny_model(), train, val, {"model": "tiny"})


# --------------------------------------------------------------------------- eval mode


def test_evaluate_uses_eval_mode_with_dropout_and_batch_norm(engine_tiny_model, engine_tiny_data):
    _, val = engine_tiny_data()
    model = engine_tiny_model(bn=True, dropout=0.5)
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)  # running statistics unlike any one batch
        model[1].running_var.uniform_(0.5, 2)
    stats = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    with torch.no_grad():
        logits = model(val.images)
    for mode in (True, False):
        model.train(mode)
        res = engine.evaluate(model, val, batch_size=7)
        expected = torch.nn.functional.cross_entropy(logits, val.labels)
        assert res["loss"] == pytest.approx(float(expected), rel=1e-5)
        assert res["acc"] == pytest.approx(float((logits.argmax(1) == val.labels).float().mean()))
        assert model.training is mode and all(m.training is mode for m in model.modules())
        # batch norm in training mode would have moved its running statistics
        assert all(torch.equal(v, stats[k]) for k, v in model.state_dict().items())
        y, p = engine.predictions(model, val, batch_size=7)
        assert torch.equal(p, logits.argmax(1)) and model.training is mode


def test_eval_mode_restores_every_layer_even_on_error(engine_tiny_model):
    model = engine_tiny_model(bn=True, dropout=0.5)
    model.train()
    model[1].eval()  # a frozen batch norm, as in fine-tuning
    with pytest.raises(RuntimeError, match="boom"), engine.eval_mode(model) as m:
        assert m is model and not any(x.training for x in model.modules())
        raise RuntimeError("boom")
    assert model.training and not model[1].training and model[-2].training


def test_datasets_without_a_length_are_refused_in_one_sentence(engine_tiny_model, engine_tiny_data):
    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter([])

    train, val = engine_tiny_data()
    model = engine_tiny_model()
    with pytest.raises(data.DataError, match="the training set must know its length.*Stream"):
        engine.fit(model, Stream(), val, epochs=1, log=False)
    with pytest.raises(data.DataError, match="the validation set must know its length"):
        engine.fit(model, train, Stream(), epochs=1, log=False)
    with pytest.raises(data.DataError, match="must know its length"):
        engine.evaluate(model, Stream())
