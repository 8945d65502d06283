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

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "torchvision's VGG is three parts: features, avgpool and classifier.",
            "make_layers turns a config list into the trunk; one list per VGG.",
            "The adaptive pool fixes the head's input at 512 x 7 x 7 for any input "
            "size.",
            "Convolutions start from He (fan-out) init, linear layers from N(0, 0.01).",
        ]
    )
)

# %%
import matplotlib.pyplot as plt
import torch
import torchvision
from IPython.display import display

from cnnbook import plots, show, tvsource
from cnnbook.analysis.torchvision_facts import vgg as facts

print(f"torchvision {torchvision.__version__} (torch {torch.__version__})")

drifts = tvsource.check_drift(tvsource.page_entries("vgg"))
if drifts:
    display(
        show.note("\n".join(d.message for d in drifts), "warning", "Source has changed")
    )
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
print("VGG.__init__ defaults:", facts.constructor_defaults())

torch.manual_seed(0)
model = torchvision.models.vgg16()  # built once; every experiment below reuses it
model.eval()
headers = ["attribute", "type", "parameters", "share"]
budget = facts.part_budget(model)
display(show.table(budget, headers, "VGG-16 by part", formats={"share": ".1%"}))
print("dropout probabilities in the classifier:", facts.classifier_dropouts(model))

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
# distribution with standard deviation $\sqrt{2 / \text{fan}}$. Computed from
# the fan-in, that keeps the variance of the activations roughly constant
# through ReLU layers on the forward pass; computed from the fan-out, as
# here, it keeps the variance of the *gradients* constant on the backward
# pass (He et al. 2015 show that either choice suffices for deep ReLU nets).
#
# Measured on the VGG-16 built above, against what the formula predicts:

# %%
rows = [
    (s.layer, s.kind, s.mean, s.expected_std, s.std, s.deviation, s.max_abs_bias)
    for s in facts.init_stats(model)
]
headers = ["layer", "type", "mean", "expected std", "measured std", "deviation"]
display(
    show.table(
        rows,
        [*headers, "max abs bias"],
        "Weights of a fresh torchvision VGG-16, seed 0",
        formats=[None, None, "+.1e", ".5f", ".5f", "+.2%", ".1f"],
    )
)
contrast = facts.pytorch_default_contrast(256)
contrast_text = (
    f"PyTorch's own default for a 256->256 3x3 convolution has std "
    f"{contrast['default_std']:.5f} (uniform with bound 1/sqrt(fan_in) = "
    f"{contrast['uniform_bound']:.5f}), against VGG's {contrast['he_std']:.5f}."
)
display(show.note(contrast_text, "info", "For contrast"))

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
headers = ["cfg", "builders", "conv layers", "max-pools", "weight layers (conv + 3 FC)"]
display(show.table(facts.cfg_table(), headers))
print(
    "configurations present:",
    sorted(facts.tv_vgg.cfgs),
    "- token kinds:",
    facts.cfg_tokens(),
)
print("kernel sizes make_layers produced for VGG-16:", facts.kernel_sizes(model))

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
for given, outcome in facts.ovewrite_cases():
    print(f"{given!s:22} -> {outcome}")

# %% [markdown]
# The check runs *before* anything is downloaded, so asking for ImageNet
# weights with 10 classes fails at once. (`tvsource.no_downloads()` turns any
# download attempt into an error, so this cell provably stays offline.)

# %%
print("ValueError:", facts.weights_with_wrong_classes())

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
rows = [
    (c.weights, c.num_params, c.counted == c.num_params, c.float32_mib)
    + (c.file_size, c.ops, c.acc1)
    for c in facts.weights_checks()
]
headers = ["weights", "num_params", "= counted", "float32 MiB", "_file_size"]
formats = [None, None, None, ".3f", ".3f", ".3f", ".3f"]
show.table(rows, [*headers, "_ops", "acc@1"], formats=formats)

# %% [markdown]
# The file sizes are the float32 tensors plus a little pickle overhead. The
# `IMAGENET1K_FEATURES` member is different: it is a port of the VGG-16 features used by
# the SSD object detector (see its `recipe`), its `categories` is `None` (its classifier
# is not usable) and its accuracy is NaN. That is why `_vgg` only enforces `num_classes`
# when `categories` is not `None`.
#
# Now `_ops`. The project's `count_macs` (torchinfo's multiply-add count) on
# the VGG-16 above, for one $224 \times 224$ image, next to torchvision's
# figure; torchinfo also counts the bias additions, so they are counted
# separately from the same per-layer table:

# %%
ops = facts.ops_reconciliation(model, facts.tv_vgg.VGG16_Weights.IMAGENET1K_V1)
print(
    f"the classifier holds {ops.classifier_param_share:.1%} of the "
    f"parameters but does {ops.classifier_macs / ops.macs:.2%} of the multiply-adds"
)
rows = [
    ("count_macs (torchinfo)", ops.macs, ops.macs / 1e9),
    ("bias additions in it", ops.bias_adds, ops.bias_adds / 1e9),
    ("multiply-adds without bias", ops.without_bias, ops.without_bias / 1e9),
    ("torchvision _ops", None, ops.ops),
]
show.table(
    rows,
    ["quantity", "count", "billions"],
    "VGG-16, one 224x224 image",
    formats=[None, None, ".3f"],
)

# %% [markdown]
# ### `transforms()`: the preprocessing the weights expect
#
# The weights were trained on images prepared in one particular way, and
# `weights.transforms()` returns exactly that preparation. Its `forward`:

# %%
tvsource.show("torchvision.transforms._presets.ImageClassification.forward")

# %%
print(facts.tv_vgg.VGG16_Weights.IMAGENET1K_V1.transforms())
pre = facts.preprocess_photo(facts.tv_vgg.VGG16_Weights.IMAGENET1K_V1)
print(
    f"input: {tuple(pre.photo.shape)} {pre.photo.dtype}  ->  "
    f"output: {tuple(pre.batch.shape)} {pre.batch.dtype}"
)
print("per-channel mean after normalisation:", pre.channel_means)
print("per-channel std after normalisation: ", pre.channel_stds)

titles = [
    f"skimage chelsea, {tuple(pre.photo.shape[1:])}",
    f"after transforms(), {tuple(pre.batch.shape[2:])}, un-normalised",
]
plots.images([pre.photo.permute(1, 2, 0), pre.restored.permute(1, 2, 0)], titles)
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
sizes = [32, 64, 224, 320]
headers = ["node", *(f"input {s}x{s}" for s in sizes)]
display(show.table(facts.shapes_by_input(sizes), headers))

small = facts.smallest_input(model)
print(
    f"real forward at 32x32: features give {small['features_side']}; avgpool "
    f"repeats that value in all {small['cells']} cells (largest difference "
    f"between cells: {small['spread']})"
)
print("min_size in the weights' meta:", small["min_size"])
print("31x31 input:", small["error_at_31"])

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
# (the old URLs are kept as a historical record in `facts.OLD_MODEL_URLS`;
# nothing is downloaded):

# %%
headers = ["builder", "pretrained=True means", "old file", "file today", "same file"]
show.table(facts.legacy_files(), headers)

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
warned = [w.split(": ", 1) for w in facts.pretrained_false_warnings()]
display(show.table(warned, ["warning", "message"], "vgg11(pretrained=False)"))

# %% [markdown]
# Today's equivalents:
#
# | old | new |
# | --- | --- |
# | `vgg16(pretrained=True)` | `vgg16(weights=VGG16_Weights.IMAGENET1K_V1)` |
# | `vgg16(pretrained=False)` | `vgg16()` (`weights=None`) |
# | `model_urls["vgg16"]` | `VGG16_Weights.IMAGENET1K_V1.url` |
# | a hand-written `Normalize(...)` | `VGG16_Weights.IMAGENET1K_V1.transforms()` |
#
# `weights="DEFAULT"` asks for the best weights of that builder, whichever
# member that is in the installed torchvision.
#
# Where the downloaded file is kept, how to use weights on a machine without
# network, and why a weights file should be opened with
# `torch.load(..., weights_only=True)` are shown on
# [Inside torchvision: resnet.py](../../resnet/inside-torchvision/).

# %% [markdown]
# ## References
#
# * [Simonyan & Zisserman (2015), Very Deep Convolutional Networks for Large-Scale Image
#   Recognition](https://arxiv.org/abs/1409.1556)
# * [He et al. (2015), Delving Deep into Rectifiers: Surpassing Human-Level Performance
#   on ImageNet Classification](https://arxiv.org/abs/1502.01852)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises

# %% [markdown]
# **Exercise 1.** At $32 \times 32$ input VGG-16's trunk ends at $1 \times 1$. What does
# `AdaptiveAvgPool2d((7, 7))` make of it, and what does the head see?

# %%
from cnnbook.exercises import vgg_practice as ex

display(show.solution(ex.adaptive_pool_at_32_text()))

# %% [markdown]
# **Exercise 2.** What standard deviation does torchvision's init give the weights of a
# $3 \times 3$ convolution from 256 to 512 channels?

# %%
display(show.solution(ex.he_std_text()))

# %% [markdown]
# **Exercise 3.** torchvision's weights metadata gives VGG-16 15.47 GFLOPS. Count its
# multiply-accumulates at $224 \times 224$ and compare.

# %%
display(show.solution(ex.ops_versus_macs_text()))
