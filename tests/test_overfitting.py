"""Reading a training history: the best epoch, and whether validation loss rose while training loss fell."""

import pytest

from cnnbook.analysis import overfitting


def _history(train_loss, val_loss, val_acc, train_acc=None):
    train_acc = train_acc or [0.5] * len(train_loss)
    keys = ("train_loss", "val_loss", "val_acc", "train_acc")
    return [
        dict(zip(keys, row, strict=True))
        for row in zip(train_loss, val_loss, val_acc, train_acc, strict=True)
    ]


def test_a_rising_validation_loss_with_falling_training_loss_is_over_fitting():
    h = _history(
        [1.0, 0.5, 0.2, 0.1], [0.9, 0.4, 0.5, 0.7], [0.6, 0.8, 0.9, 0.85], [0.5, 0.7, 0.95, 0.99]
    )
    r = overfitting.read(h)
    assert (r.low_loss_epoch, r.best_acc_epoch, r.train_loss_at_low) == (2, 3, 0.5)
    assert r.overfits and r.val_above_train == 2
    fit, loss, acc = overfitting.sentences(r)
    assert "lowest at epoch 2 (0.400) and ended at 0.700" in loss and "over-fitting" in loss
    assert "peaked at epoch 3 (90.0%) and ended at 85.0%" in acc and "not the last" in acc
    assert fit.startswith("By epoch 4 the training loss was 0.100")
    assert fit.endswith("the validation loss was 7.0 times the training loss.")


@pytest.mark.parametrize(
    "train_loss, val_loss, why",
    [
        ([1.0, 0.5, 0.2, 0.1], [0.9, 0.4, 0.45, 0.47], "within the noise margin"),
        ([1.0, 0.5, 0.6, 0.7], [0.9, 0.4, 0.6, 0.7], "training loss rose too"),
    ],
)
def test_no_over_fitting_without_both_signs(train_loss, val_loss, why):
    r = overfitting.read(_history(train_loss, val_loss, [0.5, 0.6, 0.7, 0.8]))
    assert not r.overfits, why
    _, loss, acc = overfitting.sentences(r)
    assert "no clear over-fitting" in loss
    assert acc == "Validation accuracy was highest at the last epoch (80.0%)."


def test_ties_take_the_first_best_epoch_and_a_history_needs_validation():
    assert overfitting.read(_history([1, 1, 1], [1, 1, 1], [0.7, 0.9, 0.9])).best_acc_epoch == 2
    with pytest.raises(ValueError, match="validation score after every epoch"):
        overfitting.read([{"train_loss": 1.0, "train_acc": 0.5, "val_acc": None}])
