"""cnnbook.engine.optim: optimisers and learning-rate schedules, counted in steps."""

from __future__ import annotations

import pytest
import torch

from cnnbook import engine
from cnnbook.engine import optim


def test_paper_schedule_divides_by_ten_at_32k_and_48k():
    f = engine.paper_lr_factor([32_000, 48_000])
    assert [f(0), f(31_999), f(32_000), f(47_999), f(48_000), f(63_999)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01]
    )
    warm = engine.paper_lr_factor([32_000, 48_000], warmup_steps=400)
    assert warm(0) == pytest.approx(0.1) and warm(399) == pytest.approx(0.1) and warm(400) == 1


def test_warmup_ramps_then_hands_over_to_the_schedule():
    f = engine.lr_factor("multistep", 100, [6], gamma=0.5, warmup_steps=4)
    assert [f(s) for s in range(8)] == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1, 0.5, 0.5])
    c = engine.lr_factor("cosine", 8, warmup_steps=2)
    assert c(0) == pytest.approx(0.5 * 0.5 * (1 + torch.cos(torch.tensor(0.0)).item()))
    assert c(8) == pytest.approx(0) and c(20) == pytest.approx(0)  # stays at 0 past the end


def test_scheduler_steps_the_optimizer_rate(engine_tiny_model):
    model = engine_tiny_model()
    config = engine.TrainConfig(lr=0.2, scheduler="multistep", milestones=[2], gamma=0.1)
    opt = engine.make_optimizer("sgd", model.parameters(), config.lr)
    sched = optim.make_scheduler(opt, config, total_steps=4)
    seen = []
    for _ in range(4):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([0.2, 0.2, 0.02, 0.02])


@pytest.mark.parametrize(
    ("name", "cls"),
    [("sgd", torch.optim.SGD), ("Adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)],
)
def test_make_optimizer(name, cls, engine_tiny_model):
    opt = engine.make_optimizer(name, engine_tiny_model().parameters(), 0.01, 0.8, 1e-4, True)
    assert type(opt) is cls and opt.param_groups[0]["weight_decay"] == 1e-4
    if cls is torch.optim.SGD:
        assert opt.param_groups[0]["momentum"] == 0.8 and opt.param_groups[0]["nesterov"]
    with pytest.raises(engine.ConfigError, match="unknown optimizer 'lbfgs'; choose one of: sgd"):
        engine.make_optimizer("lbfgs", engine_tiny_model().parameters(), 0.01)
