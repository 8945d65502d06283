# %% [markdown]
# # Model zoo
#
# Every model the package builds, by the name `cnnbook.models.create` takes, in
# natural order (`cifar_plain20` before `cifar_plain110`). The table is computed
# while this page builds: parameters for the default number of classes,
# multiply-accumulates (MACs) for one image of the input size the model was
# designed for.
#
# Both are counted on a copy of each model built on PyTorch's *meta* device,
# which computes shapes without arithmetic, so the whole table costs about a
# second. MACs are the cost that does not depend on the machine. For the time a
# forward pass takes on yours, `cnnbook.analysis.complexity.measure_latency(model,
# (1, 3, 224, 224))` times one; the [slimming page](../vgg/slimming.py) does it for
# VGG-16's heads at batch sizes 1 and 16.

# %%
import torch

from cnnbook import models, show
from cnnbook.analysis import complexity

rows = []
for name in models.available():
    size = models.input_size(name)
    shape = (1, *size)
    with torch.device("meta"):
        net = models.create(name)
    params, macs = complexity.count_params(net), complexity.count_macs(net, shape)
    size_text = "×".join(map(str, size))
    rows.append((name, type(net).__name__, size_text, params, macs / 1e9))

show.table(
    rows,
    ["name", "class", "input", "parameters", "GMACs"],
    "All registered models, at their designed input (one image)",
    formats={"GMACs": ".3f"},
)
