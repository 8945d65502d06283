"""``cnnbook results check`` catches what would make a recorded result lie.

A tiny degradation run stands in for the real one: same code, same kind,
a setup of seconds. Each test breaks one thing (a number edited by hand,
a changed setting, a missing field, other code) and expects the check to
name it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from recorded_files import recorded_file

from cnnbook import cli
from cnnbook.experiments import degradation
from cnnbook.results import ROOT, check, fingerprint
from cnnbook.results.registry import KINDS

TINY = degradation.Setup(
    image_size=8, subset=64, base_channels=2, batch_size=32, epochs=2, decay_at=(0.5,),
    val_curve=True,
)  # fmt: skip
KIND = dataclasses.replace(KINDS["degradation"], setup=lambda: dataclasses.asdict(TINY))
TINY_KINDS = {"degradation": KIND}


@pytest.fixture(scope="module")
def tiny_result() -> dict:
    made = degradation.record(seeds=(0,), setup=TINY, model_names=("cifar_plain20",))
    return recorded_file("degradation", made, (0,))


def _problems(result: dict, tmp_path: Path, name="degradation-cpu.json", **kw) -> list[str]:
    (tmp_path / name).write_text(json.dumps(result))
    return check.check(tmp_path, TINY_KINDS, **kw)


def test_a_faithful_result_passes(tiny_result, tmp_path):
    assert _problems(tiny_result, tmp_path) == []


def test_a_number_edited_by_hand_is_caught_by_the_replay(tiny_result, tmp_path):
    edited = copy.deepcopy(tiny_result)
    edited["rows"][0]["train_loss"][0] += 0.01
    (problem,) = _problems(edited, tmp_path)
    assert problem.startswith(
        "degradation-cpu.json: replaying cifar_plain20 seed 0 gives train_loss"
    )


def test_a_final_value_that_is_not_its_curve_is_caught(tiny_result, tmp_path):
    edited = copy.deepcopy(tiny_result)
    edited["rows"][0]["final_train_error"] = 0.01
    (problem,) = _problems(edited, tmp_path, replay=False)
    assert "final_train_error 0.01 is not its curve's last point" in problem


def test_a_changed_setting_in_the_file_is_caught(tiny_result, tmp_path):
    edited = copy.deepcopy(tiny_result)
    edited["setup"]["lr"] = 0.05
    (problem,) = _problems(edited, tmp_path)
    assert "its setup differs from the experiment's; re-run: cnnbook results record" in problem


def test_a_changed_setting_in_the_code_makes_the_result_stale(tiny_result, tmp_path):
    code = tmp_path / "code"
    for rel in KIND.code:
        src = ROOT / rel
        dst = code / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)
    module = code / "src/cnnbook/experiments/degradation.py"
    text = module.read_text()
    assert "    lr: float = 0.1\n" in text
    module.write_text(text.replace("    lr: float = 0.1\n", "    lr: float = 0.05\n"))
    (problem,) = _problems(tiny_result, tmp_path, root=code)
    assert problem == (
        "degradation-cpu.json: stale: made by other code than today's; "
        "re-run: cnnbook results record degradation --device cpu --seeds 0"
    )


@pytest.mark.parametrize("field", ["code", "command", "runinfo", "rows", "setup"])
def test_a_missing_field_is_named(tiny_result, tmp_path, field):
    broken = {k: v for k, v in tiny_result.items() if k != field}
    problems = _problems(broken, tmp_path)
    assert f"degradation-cpu.json: missing field {field!r}" in problems


def test_a_row_missing_a_field_is_named(tiny_result, tmp_path):
    broken = copy.deepcopy(tiny_result)
    del broken["rows"][0]["final_val_error"]
    assert _problems(broken, tmp_path) == ["degradation-cpu.json: row 0 lacks 'final_val_error'"]


def test_an_unknown_kind_and_unreadable_json_are_named(tmp_path):
    (tmp_path / "mystery-cpu.json").write_text("{}")
    (tmp_path / "degradation-cpu.json").write_text("{not json")
    problems = check.check(tmp_path, TINY_KINDS)
    assert problems[0].startswith("degradation-cpu.json: not readable as JSON")
    assert problems[1].startswith("mystery-cpu.json: no kind of result is named 'mystery'")


def test_a_gpu_result_is_not_replayed_on_the_cpu(tiny_result, tmp_path):
    gpu = copy.deepcopy(tiny_result)
    gpu["device"] = "cuda"
    gpu["rows"][0]["train_loss"][0] += 0.01  # GPU sums differ from the CPU's anyway
    assert _problems(gpu, tmp_path, name="degradation-cuda.json") == []


def test_the_fingerprint_ignores_docstrings_and_comments_but_not_code(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""Doc."""\n\ndef f():\n    """Doc."""\n    return 1  # one\n')
    before = fingerprint.fingerprint(["m.py"], tmp_path)
    module.write_text('"""Other."""\n\ndef f():\n    # why\n    return 1\n')
    assert fingerprint.fingerprint(["m.py"], tmp_path) == before
    module.write_text('"""Other."""\n\ndef f():\n    return 2\n')
    assert fingerprint.fingerprint(["m.py"], tmp_path) != before


def test_the_command_fails_with_one_line_per_problem(tmp_path, capsys):
    (tmp_path / "degradation-cpu.json").write_text("{}")
    assert cli.main(["results", "check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "degradation-cpu.json: missing field 'command'"


def test_recording_refuses_fewer_than_three_seeds(capsys):
    assert cli.main(["results", "record", "degradation", "--seeds", "0"]) == 2
    assert "needs at least 3 seeds" in capsys.readouterr().err


def test_by_device_keys_each_kind_s_files_by_device(tmp_path):
    from cnnbook import results

    for name, value in (("c3-cpu", 1), ("c3-gpu", 2), ("c3x-cpu", 3), ("degradation-cpu", 4)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"v": value}))
    assert results.by_device("c3", tmp_path) == {"cpu": {"v": 1}, "gpu": {"v": 2}}
