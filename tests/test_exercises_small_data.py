"""The solutions of the small-data page's exercises: the numbers they are written from."""

from __future__ import annotations

import pytest

from cnnbook.exercises import small_data as ex


def test_bird_split_is_the_tutorials():
    s = ex.bird_split()
    assert (s.train, s.test) == (452, 113)  # the tutorial prints (452, 113)
    assert s.points_per_image == pytest.approx(100 / 113)
    assert len(s.correct) == 20
    assert (s.correct[6], s.correct[7], s.correct[8]) == (73, 49, 102)  # 64.6, 43.4, 90.3%
    assert s.changes(10) == [-9, 7, -1, -9, 5, 7, -3, -4, 5, -1]
    text = ex.bird_split_text()
    assert "after epoch 7 (64.6% to 43.4%), is 24 photos" in text
    assert "1 to 9 photos" in text


def test_measurement_noise_of_a_small_validation_set():
    assert ex.binomial_sd(0.75, 48) == pytest.approx(6.25)
    assert ex.binomial_sd(0.75, 113) == pytest.approx(4.0734, abs=1e-4)
    assert ex.images_for(1.0, 0.75) == 1875
    assert "6.2 points on 48 images and 4.1 points on 113 images" in ex.noise_text()


def test_running_statistics_memory():
    assert ex.running_weight(1) == pytest.approx(0.1)
    assert ex.running_weight(5) == pytest.approx(1 - 0.9**5)
    text = ex.bn_memory_text()
    assert "is 5 updates" in text and "41%" in text
    assert "57 updates" in text and "(80 photos) make up 65%" in text


def test_frozen_backbone_leaves_only_the_head():
    r50 = ex.head_share("resnet50")
    assert r50.total == 23_516_228  # the tutorial's torchsummary total for 4 classes
    assert r50.head == 2048 * 4 + 4
    r18 = ex.head_share("resnet18")
    assert r18.head == 512 * 4 + 4
    assert "only its head trains: 2,052" in ex.freeze_text()
