# %% [markdown]
# # Inside torchvision: vgg.py
#
# torchvision's `vgg.py` is one of the shortest model files in the library, and
# one of the most copied. This page reads it piece by piece. Every listing is
# pulled from the torchvision installed when the page was built (with
# `inspect.getsource`), never pasted, so the code you see is the code that ran
# the experiments under it. The prose was written for one torchvision version;
# the first cell checks that each listed piece of code is still the one the
# explanations describe, and says so if it is not.

# %%
import inspect
import math
import warnings

import matplotlib.pyplot as plt
import torch
import torchvision
from IPython.display import display
from skimage import data as skdata
from torch import nn
from torchvision.models import vgg as tv_vgg
from torchvision.models._utils import _ovewrite_named_param
from torchvision.models.feature_extraction import create_feature_extractor

from cnnbook import runinfo, show, tvsource
from cnnbook.analysis import complexity

print(f"torchvision {torchvision.__version__} (torch {torch.__version__})")
print(runinfo.describe(seed=0))

drifts = tvsource.check_drift(tvsource.page_entries("vgg"))
if drifts:
    display(show.note("\n".join(d.message for d in drifts), "warning", "Source has changed"))
else:
    print(tvsource.summary("vgg"))

# %% [markdown]
# ## The `VGG` class
#
# A VGG network is three attributes: `features`, the convolutional part, which
# the class receives ready-made; `avgpool`, which brings whatever spatial size
# comes out of `features` to a fixed grid; and `classifier`, three fully
# connected layers with ReLU and dropout between them.

# %%
tvsource.show("torchvision.models.vgg.VGG.__init__")

# %% [markdown]
# The first `Linear` expects `512 * 7 * 7` inputs: 512 channels from the last
# block times the pooled grid. The constructor's defaults, read from its
# signature, and the parameter budget of the three parts of a freshly built
# VGG-16 (configuration D):

# %%
defaults = {
    k: v.default
    for k, v in inspect.signature(tv_vgg.VGG.__init__).parameters.items()
    if v.default is not inspect.Parameter.empty
}
print("VGG.__init__ defaults:", defaults)

torch.manual_seed(0)
model = torchvision.models.vgg16()  # built once; every experiment below reuses it
model.eval()
total = complexity.count_params(model)
rows = [
    (
        name,
        type(part).__name__,
        complexity.count_params(part),
        f"{complexity.count_params(part) / total:.1%}",
    )
    for name, part in model.named_children()
]
rows.append(("total", "", total, "100%"))
display(show.table(rows, ["attribute", "type", "parameters", "share"], "VGG-16 by part"))
dropouts = [m.p for m in model.classifier if isinstance(m, nn.Dropout)]
print("dropout probabilities in the classifier:", dropouts)
print(runinfo.describe(seed=0))

# %% [markdown]
# The classifier holds most of the parameters (and, as measured further down,
# does a small share of the arithmetic): this is why slimmer VGG variants
# start by shrinking it. `dropout` became a constructor argument in newer
# torchvision; the old code quoted in many tutorials hard-wired
# `nn.Dropout()`, whose default probability is the same.
#
# ## `forward`
#
# The forward pass is the three parts in order, with a `flatten` that keeps the
# batch dimension:

# %%
tvsource.show("torchvision.models.vgg.VGG.forward")

# %% [markdown]
# ## The initialisation loop
#
# When `init_weights` is true (the default), the constructor walks every
# module and replaces PyTorch's default initialisation: convolutions get
# He (Kaiming) normal weights computed from the *fan-out* (output channels
# times kernel area) and zero biases; batch-norm layers get weight 1 and
# bias 0; linear layers get weights from $\mathcal{N}(0, 0.01^2)$ and zero
# biases. He initialisation with `nonlinearity="relu"` draws from a normal
# distribution with standard deviation $\sqrt{2 / \text{fan}}$, which keeps
# the variance of activations roughly constant through ReLU layers.
#
# Measured on the VGG-16 built above, against what the formula predicts:

# %%
rows = []
for name, m in model.named_modules():
    if isinstance(m, nn.Conv2d):
        fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
        expected = math.sqrt(2.0 / fan_out)
    elif isinstance(m, nn.Linear):
        expected = 0.01
    else:
        continue
    w = m.weight.detach()
    rows.append(
        (
            name,
            type(m).__name__,
            f"{w.mean().item():+.1e}",
            f"{expected:.5f}",
            f"{w.std().item():.5f}",
            f"{(w.std().item() / expected - 1):+.2%}",
            f"{m.bias.detach().abs().max().item():.1f}",
        )
    )
display(
    show.table(
        rows,
        ["layer", "type", "mean", "expected std", "measured std", "deviation", "max abs bias"],
        "Weights of a fresh torchvision VGG-16",
    )
)
default_conv = nn.Conv2d(256, 256, 3)
fan_in = 256 * 9
print(
    f"For contrast, PyTorch's own default for a 256->256 3x3 convolution has std "
    f"{default_conv.weight.std().item():.5f} (uniform with bound 1/sqrt(fan_in) = "
    f"{1 / math.sqrt(fan_in):.5f}), against VGG's {math.sqrt(2 / fan_in):.5f}."
)
print(runinfo.describe(seed=0))

# %% [markdown]
# The batch-norm branch sets weight 1 and bias 0, which is what `nn.BatchNorm2d`
# starts with anyway; it is there to make the intent explicit.
#
# ## `make_layers` and `cfgs`
#
# The convolutional part is generated from a list. A number is a $3 \times 3$
# convolution (padding 1) with that many output channels, followed by
# batch norm if asked and a ReLU; the string `"M"` is a $2 \times 2$ max-pool
# with stride 2.

# %%
tvsource.show("torchvision.models.vgg.make_layers")

# %%
tvsource.show("torchvision.models.vgg.cfgs")

# %% [markdown]
# The letters are the columns of Table 1 of the VGG paper. Which builder uses
# which configuration is read here from the builders' own source (each calls
# `_vgg(<letter>, <batch_norm>, ...)`):

# %%
builders = [n for n in tv_vgg.__all__ if n.startswith("vgg")]
uses = {b: tvsource.literal_calls(f"torchvision.models.vgg.{b}", "_vgg")[0][:2] for b in builders}
rows = []
for key, cfg in tv_vgg.cfgs.items():
    convs = sum(1 for v in cfg if v != "M")
    users = ", ".join(b for b, (k, _) in uses.items() if k == key)
    rows.append((key, users, convs, cfg.count("M"), convs + 3))
display(
    show.table(rows, ["cfg", "builders", "conv layers", "max-pools", "weight layers (conv + 3 FC)"])
)
tokens = {type(v).__name__ if v != "M" else "'M'" for cfg in tv_vgg.cfgs.values() for v in cfg}
print("configurations present:", sorted(tv_vgg.cfgs), "- token kinds:", sorted(tokens))
kernels = {m.kernel_size for m in model.features if isinstance(m, nn.Conv2d)}
print("kernel sizes make_layers produced for VGG-16:", kernels)

# %% [markdown]
# The paper has six configurations; torchvision ships four. The missing two
# cannot be written in this little language: configuration **C** puts a
# $1 \times 1$ convolution at the end of blocks 3, 4 and 5, but a number in a
# cfg always means a $3 \times 3$ kernel; **A-LRN** adds local response
# normalisation after the first layer, and a cfg has no token for it. The
# paper also found that LRN did not help, and C was beaten by D, so nothing of
# value was lost.
#
# ## `_vgg` and `_ovewrite_named_param`
#
# Every public builder (`vgg11` ... `vgg19_bn`) is a one-line call of `_vgg`:

# %%
tvsource.show("torchvision.models.vgg._vgg")

# %%
tvsource.show("torchvision.models._utils._ovewrite_named_param")

# %% [markdown]
# With pretrained weights, two things change. Random initialisation is
# skipped (`init_weights=False`), because every tensor is about to be
# overwritten. And the number of classes must match the weights: the helper
# (its name is misspelt in torchvision itself) sets `num_classes` when the
# caller did not, accepts it when it agrees, and refuses it otherwise. Each
# case, run:

# %%
for given in ({}, {"num_classes": 1000}, {"num_classes": 10}):
    kwargs = dict(given)
    try:
        _ovewrite_named_param(kwargs, "num_classes", 1000)
        print(f"{given!s:22} -> {kwargs}")
    except ValueError as err:
        print(f"{given!s:22} -> ValueError: {err}")

# %% [markdown]
# The check runs *before* anything is downloaded, so asking for ImageNet
# weights with 10 classes fails at once. (`tvsource.no_downloads()` turns any
# download attempt into an error, so this cell provably stays offline.)

# %%
with tvsource.no_downloads():
    try:
        torchvision.models.vgg16(weights=tv_vgg.VGG16_Weights.IMAGENET1K_V1, num_classes=10)
    except ValueError as err:
        print("ValueError:", err)

# %% [markdown]
# To fine-tune on 10 classes, load the 1000-class weights first and then
# replace `model.classifier[6]` with a new `nn.Linear(4096, 10)`.
#
# ## The weights enums
#
# Since torchvision 0.13, pretrained weights are described by an enum next to
# the model. Each member carries the download URL, a preprocessing recipe and
# metadata:

# %%
tvsource.show("torchvision.models.vgg.VGG16_Weights")

# %% [markdown]
# `num_params` is the exact parameter count; `_ops` is in billions of
# operations, where one multiply-add counts as one (so it is GMACs, not
# GFLOPs); `_file_size` is in MiB. Each claim checked against the code, for
# all eight VGGs (parameters counted on models built on the `meta` device,
# which allocates no memory and so costs nothing):

# %%
rows = []
for cls_name in [n for n in tv_vgg.__all__ if n.endswith("_Weights")]:
    enum = getattr(tv_vgg, cls_name)
    builder = getattr(tv_vgg, cls_name.removesuffix("_Weights").lower())
    with torch.device("meta"):
        counted = complexity.count_params(builder(init_weights=False))
    for w in enum:
        meta = w.meta
        rows.append(
            (
                str(w),
                meta["num_params"],
                counted,
                counted == meta["num_params"],
                f"{meta['num_params'] * 4 / 2**20:.3f}",
                meta["_file_size"],
                meta["_ops"],
                meta["_metrics"]["ImageNet-1K"]["acc@1"],
            )
        )
display(
    show.table(
        rows,
        [
            "weights",
            "num_params",
            "counted",
            "equal",
            "float32 size (MiB)",
            "_file_size",
            "_ops",
            "acc@1",
        ],
    )
)

# %% [markdown]
# The file sizes are the float32 tensors plus a little pickle overhead. The
# `IMAGENET1K_FEATURES` member is different: it is a port of the VGG-16
# features used by the SSD object detector (see its `recipe`), its `categories` is `None` (its classifier is not
# usable) and its accuracy is NaN. That is why `_vgg` only enforces
# `num_classes` when `categories` is not `None`.
#
# Now `_ops`. The project's `count_macs` (torchinfo's multiply-add count) on
# the VGG-16 above, for one $224 \times 224$ image, next to torchvision's
# figure; torchinfo also counts the bias additions, so they are counted
# separately from the same per-layer table:

# %%
costs = complexity.layer_costs(model, (1, 3, 224, 224))
macs = sum(c.macs for c in costs)
bias_adds = 0
modules = dict(model.named_modules())
for c in costs:
    layer = modules.get(c.name)
    if isinstance(layer, (nn.Conv2d, nn.Linear)) and layer.bias is not None:
        bias_adds += math.prod(c.output_shape[1:])
ops = tv_vgg.VGG16_Weights.IMAGENET1K_V1.meta["_ops"]
classifier_macs = sum(c.macs for c in costs if c.name.startswith("classifier"))
print(
    f"the classifier holds {complexity.count_params(model.classifier) / total:.1%} of the "
    f"parameters but does {classifier_macs / macs:.2%} of the multiply-adds"
)
display(
    show.table(
        [
            ("count_macs (torchinfo)", macs, f"{macs / 1e9:.3f}"),
            ("bias additions in it", bias_adds, f"{bias_adds / 1e9:.3f}"),
            ("multiply-adds without bias", macs - bias_adds, f"{(macs - bias_adds) / 1e9:.3f}"),
            ("torchvision _ops", "", f"{ops:.3f}"),
        ],
        ["quantity", "count", "billions"],
        "VGG-16, one 224x224 image",
    )
)
print(runinfo.describe(seed=0))

# %% [markdown]
# ### `transforms()`: the preprocessing the weights expect
#
# The weights were trained on images prepared in one particular way, and
# `weights.transforms()` returns exactly that preparation. Its `forward`:

# %%
tvsource.show("torchvision.transforms._presets.ImageClassification.forward")

# %%
preprocess = tv_vgg.VGG16_Weights.IMAGENET1K_V1.transforms()
print(preprocess)
photo = torch.from_numpy(skdata.chelsea()).permute(2, 0, 1)  # HWC uint8 -> CHW
batch = preprocess(photo).unsqueeze(0)
print(f"input: {tuple(photo.shape)} {photo.dtype}  ->  output: {tuple(batch.shape)} {batch.dtype}")
print(
    "per-channel mean after normalisation:", [round(v, 3) for v in batch.mean((0, 2, 3)).tolist()]
)
print("per-channel std after normalisation: ", [round(v, 3) for v in batch.std((0, 2, 3)).tolist()])

mean = torch.tensor(preprocess.mean).view(3, 1, 1)
std = torch.tensor(preprocess.std).view(3, 1, 1)
fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), dpi=90)
axes[0].imshow(photo.permute(1, 2, 0))
axes[0].set_title(f"skimage chelsea {tuple(photo.shape[1:])}")
axes[1].imshow((batch[0] * std + mean).clamp(0, 1).permute(1, 2, 0))
axes[1].set_title(f"after transforms() {tuple(batch.shape[2:])} (un-normalised)")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# The shorter side is resized to `resize_size`, the centre `crop_size` square
# is cut out, pixel values are scaled to $[0, 1]$ and each channel is
# standardised with the ImageNet mean and standard deviation. A photo is not
# an average ImageNet image, so its channel means come out near zero but not
# at zero.
#
# ## `AdaptiveAvgPool2d((7, 7))`: any input from 32x32 up
#
# The paper's network took $224 \times 224$ inputs only: five max-pools turn
# 224 into 7, and the first fully connected layer was sized for a
# $7 \times 7 \times 512$ map. torchvision inserts `AdaptiveAvgPool2d((7, 7))`
# between `features` and `classifier`. It averages over whatever grid arrives
# into a $7 \times 7$ one (for a $7 \times 7$ input it is the identity), so the
# classifier always receives 25088 numbers. The smallest input that survives
# five halvings is $32 \times 32$ (it leaves $1 \times 1$), which is the
# weights' `min_size`.
#
# `create_feature_extractor` (which traces the model with `torch.fx`) returns
# the tensor after each max-pool. Shapes need no arithmetic, so the table for
# four input sizes comes from a twin of the model built on PyTorch's `meta`
# device, where every operation computes its output's shape and nothing else;
# the $32 \times 32$ case then runs for real on the VGG-16 above.

# %%
with torch.device("meta"):
    twin = torchvision.models.vgg16(init_weights=False)
pools = [f"features.{i}" for i, m in enumerate(twin.features) if isinstance(m, nn.MaxPool2d)]
nodes = [*pools, "avgpool", "flatten", "classifier.6"]
twin_extractor = create_feature_extractor(twin, return_nodes=nodes)
sizes = [32, 64, 224, 320]
shapes = {s: twin_extractor(torch.empty(1, 3, s, s, device="meta")) for s in sizes}
rows = [(node, *(" x ".join(map(str, shapes[s][node].shape[1:])) for s in sizes)) for node in nodes]
display(show.table(rows, ["node", *(f"input {s}x{s}" for s in sizes)]))

with torch.no_grad():
    real = create_feature_extractor(model, return_nodes=[pools[-1], "avgpool"])(
        torch.randn(1, 3, 32, 32)
    )
at32 = real["avgpool"]
spread = (at32 - at32[..., :1, :1]).abs().max().item()
print(
    f"real forward at 32x32: features give {tuple(real[pools[-1]].shape[2:])}; avgpool "
    f"repeats that value in all {at32.shape[2] * at32.shape[3]} cells (largest difference "
    f"between cells: {spread})"
)
print("min_size in the weights' meta:", tv_vgg.VGG16_Weights.IMAGENET1K_V1.meta["min_size"])
try:
    with torch.no_grad():
        model(torch.randn(1, 3, 31, 31))
except RuntimeError as err:
    print("31x31 input:", str(err).splitlines()[0])
print(runinfo.describe(seed=0))

# %% [markdown]
# Below 32 pixels the fifth max-pool receives a $1 \times 1$ map and cannot
# produce any output. Above 224 the network works but is no longer the
# network the weights were trained as: the features see objects at another
# scale, and the pooling averages more positions per cell.
#
# ## The old API and the new one
#
# Tutorials written before torchvision 0.13 (2022) show a different `vgg.py`.
# It had a module-level dictionary `model_urls` mapping an architecture name
# to a file on `download.pytorch.org`, builders with the signature
# `vgg16(pretrained=False, progress=True, **kwargs)`, and a `_vgg` that, when
# `pretrained` was true, set `init_weights=False`, built the model and called
# `load_state_dict_from_url(model_urls[arch], progress=progress)`. The file
# names from that old dictionary, compared with the URLs in today's enums
# (the old names are typed in below as historical record; nothing is
# downloaded):

# %%
OLD_MODEL_URLS = {  # torchvision < 0.13, vgg.py
    "vgg11": "https://download.pytorch.org/models/vgg11-bbd30ac9.pth",
    "vgg13": "https://download.pytorch.org/models/vgg13-c768596a.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "vgg11_bn": "https://download.pytorch.org/models/vgg11_bn-6002323d.pth",
    "vgg13_bn": "https://download.pytorch.org/models/vgg13_bn-abd245e5.pth",
    "vgg16_bn": "https://download.pytorch.org/models/vgg16_bn-6c64b313.pth",
    "vgg19_bn": "https://download.pytorch.org/models/vgg19_bn-c79401a0.pth",
}
rows = []
for arch, old_url in OLD_MODEL_URLS.items():
    legacy = tvsource.legacy_default(f"torchvision.models.vgg.{arch}")["pretrained"]
    enum_name, member = legacy.split(".")
    new_url = getattr(tv_vgg, enum_name)[member].url
    old_file, new_file = old_url.rsplit("/", 1)[1], new_url.rsplit("/", 1)[1]
    rows.append((arch, f"pretrained=True -> {legacy}", old_file, new_file, old_file == new_file))
display(show.table(rows, ["builder", "legacy mapping", "old file", "file today", "same file"]))

# %% [markdown]
# The "legacy mapping" column is read from each builder's decorator,
# `handle_legacy_interface`, which keeps old calls working: `pretrained=True`
# becomes the listed `weights=` member, `pretrained=False` becomes
# `weights=None`, and both emit a deprecation warning. A file name ends in the
# first hex digits of the file's SHA-256; where the old and new names differ,
# the weights file was replaced. The builder and the function that now
# fetches the file:

# %%
tvsource.show("torchvision.models.vgg.vgg16")

# %%
tvsource.show("torchvision.models._api.WeightsEnum.get_state_dict")

# %% [markdown]
# The old spelling still works, with a warning. Built on the `meta` device so
# that it costs nothing (`pretrained=True` would download, so it is not run
# here; the ResNet page runs it against a local file):

# %%
with warnings.catch_warnings(record=True) as caught, torch.device("meta"):
    warnings.simplefilter("always")
    torchvision.models.vgg11(pretrained=False)
for w in caught:
    print(f"{w.category.__name__}: {w.message}")

# %% [markdown]
# Today's equivalents:
#
# | old | new |
# | --- | --- |
# | `vgg16(pretrained=True)` | `vgg16(weights=VGG16_Weights.IMAGENET1K_V1)` or `weights="DEFAULT"` |
# | `vgg16(pretrained=False)` | `vgg16()` (`weights=None`) |
# | `model_urls["vgg16"]` | `VGG16_Weights.IMAGENET1K_V1.url` |
# | a hand-written `Normalize(...)` | `VGG16_Weights.IMAGENET1K_V1.transforms()` |
#
# Where the downloaded file is kept, how to use weights on a machine without
# network, and why a weights file should be opened with
# `torch.load(..., weights_only=True)` are shown on
# [Inside torchvision: resnet.py](../../resnet/inside-torchvision/).
