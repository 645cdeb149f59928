"""AlexNet as a ``torch.nn.Module``: the paper's network and torchvision's variant.

``AlexNet(variant="paper")`` follows section 3.5 and Figure 2 of the paper:

======  ==============================================  =================
layer   what                                            output (227 px)
======  ==============================================  =================
conv1   96 filters 11x11x3, stride 4; ReLU, LRN, pool   96 x 27 x 27
conv2   256 filters 5x5x48 (two towers), pad 2; ReLU,   256 x 13 x 13
        LRN, pool
conv3   384 filters 3x3x256 (both towers), pad 1; ReLU  384 x 13 x 13
conv4   384 filters 3x3x192 (two towers), pad 1; ReLU   384 x 13 x 13
conv5   256 filters 3x3x192 (two towers), pad 1; ReLU,  256 x 6 x 6
        pool
fc6     4096, ReLU, dropout 0.5                         4096
fc7     4096, ReLU, dropout 0.5                         4096
fc8     ``num_classes``                                 ``num_classes``
======  ==============================================  =================

The two GPUs' towers are grouped convolutions (``groups=2``) where the paper's GPUs
do not talk to each other; pooling is overlapping (3x3, stride 2); LRN uses the
paper's constants and, like everything else before conv3, stays within a tower
(:class:`alexnet_lib.lrn.TowerLocalResponseNorm`). ``lrn="cuda-convnet2"`` (the default)
is the reading of cuda-convnet2's ImageNet files (alpha divided by the window's 5 channels,
k=2, as in ``torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2)``); ``"cuda-convnet"``
is the 2012 release's (k=1) and ``"printed"`` the formula as printed, its sum five times
stronger (see :mod:`alexnet_lib.lrn`).
:mod:`alexnet_lib.parallel` puts the two towers on two devices. Initialisation is the
paper's: weights from N(0, 0.01), biases 1 in conv2, conv4, conv5 and the hidden fully
connected layers, 0 elsewhere. It has the paper's "60 million parameters" (60,965,224).

**224 or 227.** The paper says its input is 224x224. PyTorch rounds a layer's output
size down: an 11x11 filter at stride 4 gives the paper's 55x55 from 227 pixels
(``(227 - 11) / 4 + 1 = 55``) and 54x54 from 224. Krizhevsky's 2012 release (cuda-convnet)
rounds up, ``1 + ceil((224 - 11) / 4) = 55``, its last window hanging over the edge.
This variant follows PyTorch and takes 227x227 by default, saying so clearly when given
anything else.

**Smaller images** (``image_size``). The same layers take any image of 67 pixels or
more; only fc6's number of inputs follows the size of pool5's maps (``256 x 6 x 6`` at
227 pixels, ``256 x 2 x 2`` at 128, where conv1 gives 30x30 maps). The book trains the
full network on 128-pixel Imagenette patches this way, on a CPU.

**Initialisation** (``init``). ``"paper"`` (the default) is the paper's; ``"he"`` draws
weights from N(0, 2 / fan_in) with zero biases (He et al., 2015), which the book's
recorded Imagenette run uses because the paper's initialisation left the network at
chance there (Chapter 7 shows both).

``AlexNet(variant="small")`` keeps AlexNet's pattern (five convolutions with
64-192-384-256-256 filters, overlapping max pooling, two hidden fully connected layers
with dropout) at the scale of 32x32 images such as CIFAR-10: 5x5 first filters at
stride 1, 1024 hidden units, an adaptive pool to 3x3. The CPU chapters and the tests
train it.

``AlexNet(variant="torchvision")`` is the single-tower variant in
``torchvision.models.alexnet`` (64-192-384-256-256 filters, no LRN, padding 2 in conv1,
an adaptive average pool, dropout before fc6 and fc7); its ``state_dict`` has the same
keys and shapes, so torchvision's trained weights load into it unchanged.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .lrn import DEFAULT_READING, LRN_READINGS, TowerLocalResponseNorm, paper_lrn

__all__ = ["INITS", "PAPER_INPUT_SIZE", "TORCHVISION_NAMES", "VARIANTS", "AlexNet",
           "TowerLocalResponseNorm", "count_parameters", "named_layers", "paper_classifier", "paper_features",
           "paper_lrn", "paper_map_sizes", "paper_widths"]

VARIANTS = ("paper", "torchvision", "small")
PAPER_INPUT_SIZE = 227
PAPER_MIN_SIZE = 67  # the smallest input for which pool5 still has a 1x1 map
INITS = ("paper", "he")


def paper_map_sizes(image_size: int) -> dict[str, int]:
    """The side of the paper network's maps for a square input of ``image_size`` pixels, as PyTorch
    computes them (rounding down): ``conv1``, ``pool1``, ``pool2`` (= conv3 to conv5), ``pool5``."""
    def after(size: int, kernel: int, stride: int) -> int:
        return (size - kernel) // stride + 1

    conv1 = after(image_size, 11, 4)
    pool1 = after(conv1, 3, 2)
    pool2 = after(pool1, 3, 2)
    return {"conv1": conv1, "pool1": pool1, "pool2": pool2, "pool5": after(pool2, 3, 2)}


def paper_widths(width: float = 1.0) -> tuple[int, ...]:
    """The paper network's filters per layer and hidden units, times ``width``: (conv1, ..., conv5,
    fc6/fc7). Each is rounded to an even number, so that the two towers split it equally."""
    return tuple(max(2, 2 * round(c * width / 2)) for c in (96, 256, 384, 384, 256, 4096))


def paper_features(lrn: str = DEFAULT_READING, width: float = 1.0) -> nn.Sequential:
    """The paper's five convolutions with their ReLUs, LRN and overlapping pooling (section 3.5),
    the towers as groups; ``width`` scales every layer's filters, ``lrn`` picks LRN's reading."""
    def norm() -> TowerLocalResponseNorm:
        return paper_lrn(groups=2, reading=lrn)

    c1, c2, c3, c4, c5, _ = paper_widths(width)
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, c1, kernel_size=11, stride=4)),
        ("relu1", nn.ReLU(inplace=True)),
        ("norm1", norm()),
        ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
        ("conv2", nn.Conv2d(c1, c2, kernel_size=5, padding=2, groups=2)),
        ("relu2", nn.ReLU(inplace=True)),
        ("norm2", norm()),
        ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
        ("conv3", nn.Conv2d(c2, c3, kernel_size=3, padding=1)),
        ("relu3", nn.ReLU(inplace=True)),
        ("conv4", nn.Conv2d(c3, c4, kernel_size=3, padding=1, groups=2)),
        ("relu4", nn.ReLU(inplace=True)),
        ("conv5", nn.Conv2d(c4, c5, kernel_size=3, padding=1, groups=2)),
        ("relu5", nn.ReLU(inplace=True)),
        ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
    ]))


def paper_classifier(num_classes: int, dropout: float, pool5: int = 6, width: float = 1.0) -> nn.Sequential:
    """fc6, fc7 (4096 units each, ReLU, dropout) and fc8; fc6 reads ``256 x pool5 x pool5`` numbers."""
    *_, c5, hidden = paper_widths(width)
    return nn.Sequential(OrderedDict([
        ("fc6", nn.Linear(c5 * pool5 * pool5, hidden)),
        ("relu6", nn.ReLU(inplace=True)),
        ("drop6", nn.Dropout(dropout)),
        ("fc7", nn.Linear(hidden, hidden)),
        ("relu7", nn.ReLU(inplace=True)),
        ("drop7", nn.Dropout(dropout)),
        ("fc8", nn.Linear(hidden, num_classes)),
    ]))


def _torchvision_features() -> nn.Sequential:
    # Numbered like torchvision's, so that its state_dict keys (features.0.weight, ...) match.
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )


def _torchvision_classifier(num_classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Dropout(p=dropout),
        nn.Linear(256 * 6 * 6, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(p=dropout),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Linear(4096, num_classes),
    )


SMALL_OPTIONS = {"norm": ("none", "lrn", "batch"), "activation": ("relu", "tanh")}


def _activation(kind: str, index: int) -> tuple[str, nn.Module]:
    return (f"relu{index}", nn.ReLU(inplace=True)) if kind == "relu" else (f"tanh{index}", nn.Tanh())


def _small_features(width: float = 1.0, norm: str = "none", pool: tuple[int, int] = (3, 2),
                    activation: str = "relu", groups: int = 1, lrn: str = DEFAULT_READING) -> nn.Sequential:
    """The small variant's convolutions. The options switch the paper's choices on and off:
    ``norm="lrn"`` the paper's normalisation after the first two ReLUs (``"batch"``: batch
    normalisation after every convolution instead); ``pool`` the max pooling's (size, stride),
    (3, 2) overlapping as in the paper, (2, 2) not; ``activation`` ReLU or tanh; ``groups=2``
    the paper's two towers in conv2, conv4 and conv5."""
    c1, c2, c3, c4, c5 = (max(int(round(c * width)), 1) for c in (64, 192, 384, 256, 256))
    if groups > 1 and any(c % groups for c in (c1, c2, c3, c4, c5)):
        raise ValueError(f"groups={groups} must divide every layer's channels ({c1}, {c2}, {c3}, {c4}, {c5})")
    convs = [("conv1", nn.Conv2d(3, c1, kernel_size=5, padding=2)),
             ("conv2", nn.Conv2d(c1, c2, kernel_size=5, padding=2, groups=groups)),
             ("conv3", nn.Conv2d(c2, c3, kernel_size=3, padding=1)),
             ("conv4", nn.Conv2d(c3, c4, kernel_size=3, padding=1, groups=groups)),
             ("conv5", nn.Conv2d(c4, c5, kernel_size=3, padding=1, groups=groups))]
    layers: list[tuple[str, nn.Module]] = []
    for index, (name, conv) in enumerate(convs, 1):
        layers.append((name, conv))
        if norm == "batch":
            layers.append((f"bn{index}", nn.BatchNorm2d(conv.out_channels)))
        layers.append(_activation(activation, index))
        if norm == "lrn" and index <= 2:
            layers.append((f"norm{index}", paper_lrn(groups=1, reading=lrn)))
        if index in (1, 2, 5):
            layers.append((f"pool{index}", nn.MaxPool2d(kernel_size=pool[0], stride=pool[1])))
    return nn.Sequential(OrderedDict(layers))


def _small_classifier(num_classes: int, dropout: float, width: float = 1.0, activation: str = "relu") -> nn.Sequential:
    c5, hidden = max(int(round(256 * width)), 1), max(int(round(1024 * width)), 1)
    return nn.Sequential(OrderedDict([
        ("fc6", nn.Linear(c5 * 3 * 3, hidden)),
        _activation(activation, 6),
        ("drop6", nn.Dropout(dropout)),
        ("fc7", nn.Linear(hidden, hidden)),
        _activation(activation, 7),
        ("drop7", nn.Dropout(dropout)),
        ("fc8", nn.Linear(hidden, num_classes)),
    ]))


class AlexNet(nn.Module):
    """AlexNet. See the module's documentation for the two variants.

    Args:
        num_classes: size of the last layer (1000 for ImageNet).
        variant: ``"paper"`` (two towers, LRN, 227x227 input, the paper's initialisation),
            ``"torchvision"`` (loads ``torchvision.models.alexnet`` weights unchanged) or
            ``"small"`` (the same pattern for 32x32 images).
        dropout: probability of dropping a unit in the two hidden fully connected layers.
        width: a factor on every layer's number of filters and hidden units, for the paper's
            and the small variant (``width=0.5`` of the paper's gives 48-128-192-192-128
            filters and 2048 hidden units; ``width=0.25`` of the small one 16-48-96-64-64 and
            256: networks a laptop CPU trains in minutes).
        lrn: ``"cuda-convnet2"``, ``"cuda-convnet"`` or ``"printed"``, the readings of LRN's
            constants (:data:`alexnet_lib.lrn.LRN_READINGS`; paper variant, and the small one
            with ``norm="lrn"``).
        image_size: the paper variant's input size (default 227); fc6's inputs follow from it.
        init: ``"paper"`` or ``"he"``, the paper variant's initialisation.
    """

    def __init__(self, num_classes: int = 1000, variant: str = "paper", dropout: float = 0.5,
                 width: float = 1.0, *, norm: str = "none", pool: tuple[int, int] = (3, 2),
                 activation: str = "relu", groups: int = 1, lrn: str = DEFAULT_READING, image_size: int | None = None,
                 init: str = "paper") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        if width != 1.0 and variant == "torchvision":
            raise ValueError("width applies to the paper's and the small variant; torchvision's has fixed sizes "
                             "(its weights must load)")
        if not width > 0:
            raise ValueError(f"width must be positive, got {width}")
        options = {"norm": norm, "pool": tuple(pool), "activation": activation, "groups": groups}
        changed = [k for k, v in options.items() if v != {"norm": "none", "pool": (3, 2), "activation": "relu",
                                                             "groups": 1}[k]]
        if changed and variant != "small":
            raise ValueError(f"{', '.join(changed)} apply to variant='small' only (Chapter 10's experiments)")
        for key, allowed in SMALL_OPTIONS.items():
            if options[key] not in allowed:
                raise ValueError(f"{key} must be one of {allowed}, got {options[key]!r}")
        if groups < 1 or len(options["pool"]) != 2 or min(options["pool"]) < 1:
            raise ValueError(f"groups must be at least 1 and pool a (size, stride) pair, got {groups}, {pool}")
        if lrn not in LRN_READINGS:
            raise ValueError(f"lrn must be one of {', '.join(LRN_READINGS)} (the readings of LRN's constants), "
                             f"got {lrn!r}")
        if image_size is not None and variant != "paper":
            raise ValueError(f"image_size applies to variant='paper' only; the {variant} variant takes any size")
        size = PAPER_INPUT_SIZE if image_size is None else image_size
        if variant == "paper" and not (isinstance(size, int) and size >= PAPER_MIN_SIZE):
            raise ValueError(f"the paper's AlexNet needs images of at least {PAPER_MIN_SIZE} pixels (pool5 then "
                             f"gives 1x1 maps; 227 gives the paper's 6x6), got {size!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        if init != "paper" and variant != "paper":
            raise ValueError(f"init applies to variant='paper' only; the {variant} variant uses PyTorch's defaults")
        self.variant = variant
        self.num_classes = num_classes
        self.width = width
        self.lrn = lrn
        self.image_size = size if variant == "paper" else None
        if variant == "paper":
            self.features = paper_features(lrn, width)
            self.classifier = paper_classifier(num_classes, dropout, paper_map_sizes(size)["pool5"], width)
            if init == "paper":
                self._init_paper()
            else:
                self._init_he()
        elif variant == "torchvision":
            self.features = _torchvision_features()
            self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
            self.classifier = _torchvision_classifier(num_classes, dropout)
        else:
            self.features = _small_features(width, norm, options["pool"], activation, groups, lrn)
            self.avgpool = nn.AdaptiveAvgPool2d((3, 3))
            self.classifier = _small_classifier(num_classes, dropout, width, activation)

    def _init_paper(self) -> None:
        """Weights N(0, 0.01); biases 1 in conv2, conv4, conv5, fc6, fc7 and 0 elsewhere (section 5)."""
        ones = {"conv2", "conv4", "conv5", "fc6", "fc7"}
        for part in (self.features, self.classifier):
            for name, module in part.named_children():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    nn.init.normal_(module.weight, mean=0.0, std=0.01)
                    nn.init.constant_(module.bias, 1.0 if name in ones else 0.0)

    def _init_he(self) -> None:
        """Weights from N(0, 2 / fan_in), biases 0: He et al.'s initialisation for ReLU networks (2015),
        which keeps every layer's output at the scale of its input."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.variant == "paper":
            size = self.image_size
            if x.dim() != 4 or x.shape[1] != 3 or x.shape[2:] != (size, size):
                raise ValueError(
                    f"this AlexNet (variant='paper', image_size={size}) takes (N, 3, {size}, {size}) images, got "
                    f"{tuple(x.shape)}. At 227 its first layer (11x11 filters, stride 4) fits exactly: "
                    "(227 - 11) / 4 + 1 = 55; the paper's '224' gives 54.25 in PyTorch, which rounds down. "
                    "Crop or resize to the network's size, build it with image_size=..., or use "
                    "variant='torchvision', which pads the first layer and pools adaptively."
                )
            x = self.features(x)
        else:
            x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


# torchvision numbers its layers (features.0, features.1, ...) and its weight files use those
# numbers; these are the book's names for them, in order.
TORCHVISION_NAMES = {
    "features": ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3",
                 "conv4", "relu4", "conv5", "relu5", "pool5"),
    "classifier": ("drop6", "fc6", "relu6", "drop7", "fc7", "relu7", "fc8"),
}


def named_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every layer of an AlexNet by the book's name (``conv1``, ``relu1``, ``pool1``, ... ``fc8``).

    The paper's and the small variant name their layers so already. torchvision's variant
    (and ``torchvision.models.alexnet`` itself) numbers them, so that its weight files
    load; those numbers are translated here: ``features[0]`` is ``conv1``, ``classifier[6]``
    is ``fc8``.
    """
    layers: dict[str, nn.Module] = {}
    for part, book_names in TORCHVISION_NAMES.items():
        children = list(getattr(model, part, nn.Sequential()).named_children())
        numbered = [name for name, _ in children] == [str(i) for i in range(len(book_names))]
        for i, (name, module) in enumerate(children):
            layers[book_names[i] if numbered else name] = module
    if not layers:
        raise ValueError("the model has no features/classifier layers (use alexnet_lib.models.AlexNet)")
    return layers


def count_parameters(model: nn.Module) -> int:
    """The number of trainable numbers in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
