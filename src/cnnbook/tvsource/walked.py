"""What each "Inside torchvision" page walks through, and the code its prose was written for.

Kept apart from the code that reads and compares sources because it is the
one part that changes by hand: after reviewing an explanation against a new
torchvision release, its entry here is replaced with
``cnnbook.tvsource.record(name)``.
"""

from __future__ import annotations

# The objects each page walks through, in page order.
PAGES: dict[str, tuple[str, ...]] = {
    "vgg": (
        "torchvision.models.vgg.VGG.__init__",
        "torchvision.models.vgg.VGG.forward",
        "torchvision.models.vgg.make_layers",
        "torchvision.models.vgg.cfgs",
        "torchvision.models.vgg._vgg",
        "torchvision.models._utils._ovewrite_named_param",
        "torchvision.models.vgg.VGG16_Weights",
        "torchvision.models.vgg._COMMON_META",
        "torchvision.transforms._presets.ImageClassification.forward",
        "torchvision.models.vgg.vgg16",
        "torchvision.models._api.WeightsEnum.get_state_dict",
        "torchvision.models._utils.handle_legacy_interface",
    ),
    "resnet": (
        "torchvision.models.resnet.conv3x3",
        "torchvision.models.resnet.conv1x1",
        "torchvision.models.resnet.BasicBlock",
        "torchvision.models.resnet.Bottleneck",
        "torchvision.models.resnet.ResNet.__init__",
        "torchvision.models.resnet.ResNet._make_layer",
        "torchvision.models.resnet.ResNet._forward_impl",
        "torchvision.models.resnet._resnet",
        "torchvision.models.resnet.resnext50_32x4d",
        "torchvision.models.resnet.wide_resnet50_2",
        "torchvision.models.resnet.ResNet50_Weights",
        "torchvision.models.resnet.resnet18",
        "torch.hub.load_state_dict_from_url",
    ),
}

# name -> (sha256 of the normalised source, version of its package that the
# explanation was written for). After reviewing an explanation against a new
# release, replace its entry with ``record(name)``.
WALKED: dict[str, tuple[str, str]] = {
    "torchvision.models.vgg.VGG.__init__": (
        "800fc4e7e0b328fa31161934f927406a6889d89bc9dffa495d3728c3d9ab8c32",
        "0.29.1",
    ),
    "torchvision.models.vgg.VGG.forward": (
        "6898029e869be93785337358168970df0497ceb344be96d1e82e3980907e4b9b",
        "0.29.1",
    ),
    "torchvision.models.vgg.make_layers": (
        "406669d9588ac951c11df51d666f61273fd78d463cfc05a54487548e479e8538",
        "0.29.1",
    ),
    "torchvision.models.vgg.cfgs": (
        "cd86aa12112361aec8e1b51e3a99f5b7e26b6ee3c492bec5192d60592ce2af51",
        "0.29.1",
    ),
    "torchvision.models.vgg._vgg": (
        "52415608be443c70408c1c9e25ac0077a715e7cdf1086c02e2116571e5fda5a3",
        "0.29.1",
    ),
    "torchvision.models._utils._ovewrite_named_param": (
        "bcda13eca9fa927ef12036c833a354b994e7e0850e8076663c711484474e5055",
        "0.29.1",
    ),
    "torchvision.models.vgg.VGG16_Weights": (
        "f0c511acae6b9b595518ac71528c9c2fe89ba40b0ebfd81812946e5cd18632c9",
        "0.29.1",
    ),
    "torchvision.models.vgg._COMMON_META": (
        "5a491a7a5ad79108d57a2b22019b7acedd585a57a43932876136970e5446cbfc",
        "0.29.1",
    ),
    "torchvision.transforms._presets.ImageClassification.forward": (
        "492f5c7beba9706653d76dc07433a6dc83f4697d5291606a62cf7eebe95792f6",
        "0.29.1",
    ),
    "torchvision.models.vgg.vgg16": (
        "6fda31bbe68609262b2a907356bed17a0dc5968efe31e493e31285bfaeecb0fc",
        "0.29.1",
    ),
    "torchvision.models._api.WeightsEnum.get_state_dict": (
        "24e27720ec912ccb9f05d2b9f83d0fa5a56e8d9b6abb9ee97b96740007c9d41c",
        "0.29.1",
    ),
    "torchvision.models._utils.handle_legacy_interface": (
        "57a1876d57c21b5e5d8a8ac84e511013c0317d304822f61a7a2d1ddaea84430d",
        "0.29.1",
    ),
    "torchvision.models.resnet.conv3x3": (
        "05e7f9212da6ee6cae85f6c91bc6754d1c683fd7612dfa0a3d55bfb0b1588437",
        "0.29.1",
    ),
    "torchvision.models.resnet.conv1x1": (
        "a3082ffac6111343cce997eb896656beb20def210ff66318dafe3eee85ed3d24",
        "0.29.1",
    ),
    "torchvision.models.resnet.BasicBlock": (
        "3185ed6ec4655fbd4f421742f9503662acf9eeaa95e51cb0606d90f3960c7328",
        "0.29.1",
    ),
    "torchvision.models.resnet.Bottleneck": (
        "e8424e22b603c9f0999eba7193eb6e152f81e966d23bc6131eb79a6aefbe8e1a",
        "0.29.1",
    ),
    "torchvision.models.resnet.ResNet.__init__": (
        "5b2e6e23c7247abf0c1488c56d039e3466aac884956486ad16feb6cd1536eb2b",
        "0.29.1",
    ),
    "torchvision.models.resnet.ResNet._make_layer": (
        "db663df2bb2f42fa64dd133b1c74651d4ceb16c6937e997489dbfc8e845326d4",
        "0.29.1",
    ),
    "torchvision.models.resnet.ResNet._forward_impl": (
        "22b508919b58ad64d177632c1b7bb792f9931e55fcf6e5103fb52722db00bd9a",
        "0.29.1",
    ),
    "torchvision.models.resnet._resnet": (
        "95ee707ae99a4ca35bd6f87e90dbc0cbc414153b92ee55d93f8af4d4bb9dbfba",
        "0.29.1",
    ),
    "torchvision.models.resnet.resnext50_32x4d": (
        "df8fed86f28a6cb5d82b376234b94093150f9f6edccc4de85ca132d5623678da",
        "0.29.1",
    ),
    "torchvision.models.resnet.wide_resnet50_2": (
        "24e74f61f8e3792ce54822a7d8ad5ec1c2bf76549039af6ab9f26eab817fba39",
        "0.29.1",
    ),
    "torchvision.models.resnet.ResNet50_Weights": (
        "287d829a7ac85ead21b4f89e9d99781deda7b1ec4a11be9b7db5432d01f93200",
        "0.29.1",
    ),
    "torchvision.models.resnet.resnet18": (
        "cc223a7816b897ef941b2ab24cea82e8f6ccb980b6cc5a175c12c5ab33ace9e3",
        "0.29.1",
    ),
    "torch.hub.load_state_dict_from_url": (
        "562187b95843dd9f171e65aaeb3b1ae6073aae433c116d16cfc6395ee39c15df",
        "2.14.1",
    ),
}
