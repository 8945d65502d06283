# %% [markdown]
# # Model zoo
#
# Every model the package builds, by the name `cnnbook.models.create` takes. The
# table is computed while this page builds: parameters for the default number of
# classes, multiply-accumulates (MACs) for one image of the input size the model
# was designed for, and the CPU time of one forward pass at batch size 1 on the
# machine that built the page. To keep the build quick each model is timed once,
# right after the MAC count's own forward pass has warmed it up, so treat the
# timings as rough: a busy machine only makes them slower.

# %%
import torch
from IPython.display import display

from cnnbook import models, runinfo, show
from cnnbook.analysis import complexity

torch.manual_seed(0)
rows = []
for name in models.available():
    net = models.create(name)
    size = models.input_size(name)
    shape = (1, *size)
    macs = complexity.count_macs(net, shape)
    seconds = complexity.measure_latency(net, shape, repeats=1, warmup=0)["min_s"]
    rows.append(
        (
            name,
            type(net).__name__,
            "x".join(map(str, size)),
            complexity.count_params(net),
            f"{macs / 1e9:.3f}",
            f"{seconds * 1e3:.1f}",
        )
    )
    del net

display(
    show.table(
        rows,
        ["name", "class", "input", "parameters", "GMACs", "CPU ms / image"],
        caption="All registered models",
    )
)
print(runinfo.describe(seed=0))
