"""Bytes of a model's weights and of its saved state dict, against a real file and torchvision."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnbook import models
from cnnbook.analysis import complexity, deploy

MIB = 2**20


def small_net() -> nn.Module:
    # float32 weights plus batch-norm buffers, one of them int64 (num_batches_tracked)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 2))


def test_weight_bytes_counts_each_tensor_at_its_dtypes_size():
    net = small_net()
    params = complexity.count_params(net)
    buffers = 8 + 8  # running mean and variance, float32
    assert deploy.weight_bytes(net) == 4 * (params + buffers) + 8  # + one int64
    assert deploy.weight_bytes(net.half()) == 2 * (params + buffers) + 8
    with torch.device("meta"):
        meta = small_net()
    assert deploy.weight_bytes(meta) == deploy.weight_bytes(small_net())


def test_saved_bytes_is_the_size_of_the_file_torch_save_writes(tmp_path):
    net = small_net()
    # torch.save names the archive's folder after the file ("archive" for a
    # file object): with the same name, the two sizes agree to the byte.
    path = tmp_path / "archive.pt"
    torch.save(net.state_dict(), path)
    assert deploy.saved_bytes(net) == path.stat().st_size
    assert deploy.saved_bytes(net) > deploy.weight_bytes(net)  # tensors plus bookkeeping


def test_vgg16_weights_are_torchvisions_published_checkpoint():
    assert deploy.published_file_mib("VGG16_Weights") == 527.796
    assert deploy.published_file_mib("ResNet50_Weights") == 97.781
    with torch.device("meta"):
        vgg16 = models.create("vgg16")
    assert deploy.weight_bytes(vgg16) == 4 * 138_357_544
    assert deploy.weight_bytes(vgg16) / MIB == pytest.approx(527.796, abs=0.01)


def test_saved_resnet18_matches_torchvisions_file_size():
    with torch.device("meta"):
        net = models.create("resnet18")
    saved = deploy.saved_bytes(complexity.allocate(net))
    assert saved / MIB == pytest.approx(deploy.published_file_mib("ResNet18_Weights"), rel=1e-3)
