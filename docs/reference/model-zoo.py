# %% [markdown]
# # Model zoo
#
# Every model the package builds, by the name `cnnbook.models.create` takes, in
# natural order (`cifar_plain20` before `cifar_plain110`). The table is computed
# while this page builds: parameters for the default number of classes,
# multiply-accumulates (MACs) for one image of the input size the model was
# designed for, and the CPU time of one forward pass at batch size 1 on the
# machine that built the page.
#
# Parameters and MACs are counted on a copy of each model built on PyTorch's
# *meta* device, which computes shapes without arithmetic. The timed copy has
# its memory allocated but not randomly initialised (dense arithmetic costs the
# same whatever the values), and each model is timed once after one warm-up
# pass, so treat the timings as rough: a busy machine only makes them slower.

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
    timed = complexity.allocate(net)  # the same model, now on the CPU
    seconds = complexity.measure_latency(timed, shape, repeats=1, warmup=1)["min_s"]
    size_text = "×".join(map(str, size))
    rows.append(
        (name, type(net).__name__, size_text, params, macs / 1e9, seconds * 1e3)
    )
    del net, timed

show.table(
    rows,
    ["name", "class", "input", "parameters", "GMACs", "CPU ms"],
    "All registered models, at their designed input; CPU ms for one image (batch 1)",
    formats={"GMACs": ".3f", "CPU ms": ".1f"},
)
