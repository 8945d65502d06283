"""Reading a recorded run: summaries over seeds and sentences written from the numbers."""

from __future__ import annotations

import pytest

from cnnbook.experiments import recorded


def _run(finals: dict[str, tuple[float, ...]]) -> dict:
    rows = [
        {
            "model": model,
            "seed": seed,
            "final_train_error": e,
            "train_error": [0.5, e],
            "final_val_error": e + 0.01,
            "val_error": [0.5, e + 0.01],
        }
        for model, errors in finals.items()
        for seed, e in enumerate(errors)
    ]
    return {
        "rows": rows[::-1],  # stored order must not matter
        "setup": {"epochs": 2},
        "steps_per_epoch": 32,
        "command": "cnnbook results record degradation --device cpu",
        "runinfo": {"cpu": "a CPU", "gpu": "none", "torch": "2", "date": "today"},
        "wall_seconds": 1800,
    }


PAPER = {
    "cifar_plain20": (0.01, 0.02, 0.03),
    "cifar_plain56": (0.10, 0.12, 0.14),
    "cifar_resnet20": (0.01, 0.01, 0.02),
    "cifar_resnet56": (0.00, 0.01, 0.01),
}


def test_groups_are_in_seed_order_and_curves_are_averaged_per_epoch():
    run = _run(PAPER)
    groups = recorded.by_model(run)
    assert [r["seed"] for r in groups["cifar_plain56"]] == [0, 1, 2]
    assert recorded.iterations(run) == [32, 64]
    assert recorded.mean_curve(groups["cifar_plain56"], "train_error") == pytest.approx([0.5, 0.12])


def test_summary_gives_mean_spread_and_range():
    (p56,) = [
        r
        for r in recorded.summary(_run(PAPER), ["final_train_error"])
        if r["model"] == "cifar_plain56"
    ]
    stats = p56["final_train_error"]
    assert p56["seeds"] == 3
    assert stats["mean"] == pytest.approx(0.12)
    assert stats["sd"] == pytest.approx(0.02)
    assert (stats["min"], stats["max"]) == (0.10, 0.14)


def test_the_reading_of_the_papers_ordering():
    plain, residual, shortcut = recorded.read_degradation(_run(PAPER))
    assert plain.startswith("Plain-56 ended with a higher training error than plain-20 for 3 of 3")
    assert plain.endswith("which is degradation.")
    assert residual.startswith("ResNet-56 ended at or below ResNet-20 for 3 of 3 seeds")
    assert "lower for 3 of 3 seeds" in shortcut


def test_the_reading_says_when_the_ordering_does_not_hold():
    finals = dict(PAPER, cifar_plain56=(0.0, 0.0, 0.0), cifar_resnet56=(0.05, 0.0, 0.03))
    plain, residual, shortcut = recorded.read_degradation(_run(finals))
    assert plain.startswith("Plain-56 ended with a higher training error than plain-20 for 0 of 3")
    assert "degradation" not in plain
    assert residual.startswith("ResNet-56 ended at or below ResNet-20 for 1 of 3 seeds")
    assert residual.endswith("by at most 4.00 percentage points.")  # seed 0: 5% against 1%
    assert "lower for 0 of 3 seeds" in shortcut  # equal or higher: never counted as lower


def test_provenance_names_command_hardware_and_date():
    line = recorded.provenance(_run(PAPER))
    assert line == (
        'Recorded with "cnnbook results record degradation --device cpu" on a CPU, torch 2, '
        "today; 30 minutes of wall time."
    )


def test_final_error_rows_are_percentages_in_the_headers_order():
    rows = {r[0]: r for r in recorded.final_error_rows(_run(PAPER))}
    assert len(rows["cifar_plain56"]) == len(recorded.FINAL_ERROR_HEADERS)
    model, seeds, mean, sd, low, high, val = rows["cifar_plain56"]
    assert (model, seeds) == ("cifar_plain56", 3)
    assert (mean, sd, low, high, val) == pytest.approx((12, 2, 10, 14, 13))


def _c3_run(train: dict[str, tuple[float, ...]]) -> dict:
    run = _run(train)
    for row in run["rows"]:  # C3 rows share one model and differ by variant
        row["variant"], row["model"] = row["model"], "c3_net"
    return run


C3 = {
    "C3 x1, shortcut": (0.02, 0.03, 0.04),
    "C3 x1, no shortcut": (0.02, 0.05, 0.01),
    "C3 x4, shortcut": (0.01, 0.01, 0.01),
    "C3 x4, no shortcut": (0.09, 0.08, 0.07),
}


def test_c3_rows_group_by_variant_and_the_reading_counts_seeds():
    run = _c3_run(C3)
    rows = {r[0]: r for r in recorded.final_error_rows(run, "variant")}
    assert set(rows) == set(C3) and rows["C3 x4, no shortcut"][2] == pytest.approx(8.0)
    x1_train, _, x4_train, x4_val = recorded.read_c3(run)  # x4 is one-sided: no verdict line
    # x1: 0.02=0.02 (tie), 0.03<0.05 (lower), 0.04>0.01 (higher)
    assert "3.00% against 2.67%" in x1_train
    assert "lower for 1, equal for 1 and higher for 1 of 3 seeds" in x1_train
    assert "1.00% against 8.00%" in x4_train and "lower for 3, equal for 0" in x4_train
    assert "validation error was 2.00% against 9.00%" in x4_val


def test_c3_reading_says_when_no_depth_separates_the_variants():
    split = {**C3, "C3 x4, no shortcut": (0.00, 0.02, 0.005)}  # x4: 1 lower, 2 higher
    *_, verdict = recorded.read_c3(_c3_run(split))
    assert verdict.startswith("At neither depth") and "below 5.00%" in verdict
    assert len(recorded.read_c3(_c3_run(C3))) == 4  # x4 one-sided: no such sentence
