"""The paper's two-GPU model parallelism: each tower on its own device.

The paper split AlexNet across two GTX 580s with 3 GB each (section 3.2): every layer
has half of its kernels (or neurons) on each GPU, and the GPUs exchange activations only
at certain layers. :class:`TwoGPUAlexNet` does exactly that with two ``torch.device``\\ s:

==========  ===============================  =========================================
layer       on each device                   input
==========  ===============================  =========================================
conv1       48 filters 11x11x3, LRN, pool    the image (a copy on each device)
conv2       128 filters 5x5x48, LRN, pool    its own tower's conv1 maps
conv3       192 filters 3x3x256              **both** towers' conv2 maps (cross-talk)
conv4       192 filters 3x3x192              its own tower's conv3 maps
conv5       128 filters 3x3x192, pool        its own tower's conv4 maps
fc6         2048 neurons                     **both** towers' conv5 maps (cross-talk)
fc7         2048 neurons                     **both** towers' fc6 outputs (cross-talk)
fc8         ``num_classes`` (first device)   **both** towers' fc7 outputs
==========  ===============================  =========================================

Its parameters are :class:`alexnet_lib.models.AlexNet`'s ``variant="paper"`` cut in two:
:meth:`TwoGPUAlexNet.from_alexnet` splits a grouped single-device model, and
:meth:`TwoGPUAlexNet.to_alexnet` joins the halves back; the two compute the same
function (a test checks outputs and gradients on the CPU, where both "devices" are
``"cpu"``). The grouped convolution is the single-device way of writing "the towers do
not talk here".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from .lrn import DEFAULT_READING
from .models import PAPER_INPUT_SIZE, AlexNet, paper_lrn

__all__ = ["Tower", "TwoGPUAlexNet"]


class Tower(nn.Module):
    """Half of the paper's network: the part that lives on one GPU (fc8 excluded)."""

    def __init__(self, dropout: float = 0.5) -> None:
        super().__init__()
        self.front = nn.Sequential(OrderedDict([            # conv1 -> pool2, no cross-talk
            ("conv1", nn.Conv2d(3, 48, kernel_size=11, stride=4)),
            ("relu1", nn.ReLU(inplace=True)),
            ("norm1", paper_lrn(groups=1)),
            ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
            ("conv2", nn.Conv2d(48, 128, kernel_size=5, padding=2)),
            ("relu2", nn.ReLU(inplace=True)),
            ("norm2", paper_lrn(groups=1)),
            ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
        ]))
        self.middle = nn.Sequential(OrderedDict([           # conv3 (reads both towers) -> pool5
            ("conv3", nn.Conv2d(256, 192, kernel_size=3, padding=1)),
            ("relu3", nn.ReLU(inplace=True)),
            ("conv4", nn.Conv2d(192, 192, kernel_size=3, padding=1)),
            ("relu4", nn.ReLU(inplace=True)),
            ("conv5", nn.Conv2d(192, 128, kernel_size=3, padding=1)),
            ("relu5", nn.ReLU(inplace=True)),
            ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
        ]))
        self.fc6 = nn.Sequential(OrderedDict([              # reads both towers' conv5 maps
            ("fc6", nn.Linear(256 * 6 * 6, 2048)),
            ("relu6", nn.ReLU(inplace=True)),
            ("drop6", nn.Dropout(dropout)),
        ]))
        self.fc7 = nn.Sequential(OrderedDict([              # reads both towers' fc6 outputs
            ("fc7", nn.Linear(4096, 2048)),
            ("relu7", nn.ReLU(inplace=True)),
            ("drop7", nn.Dropout(dropout)),
        ]))


class TwoGPUAlexNet(nn.Module):
    """The paper's AlexNet with tower ``i`` on ``devices[i]`` and fc8 on ``devices[0]``.

    Args:
        num_classes: size of the last layer.
        devices: the two devices, for example ``("cuda:0", "cuda:1")``; ``("cpu", "cpu")``
            runs the same computation on one machine (for tests and for reading).
        dropout: as in :class:`alexnet_lib.models.AlexNet` (default 0.5, or that of ``weights``).
        weights: a grouped ``AlexNet(variant="paper")`` of the paper's size (width 1, 227-pixel
            input, the default LRN reading, as the towers are) whose weights the towers take
            (what :meth:`from_alexnet` passes); by default a fresh one, initialised as in the paper.

    The output is on ``devices[0]``.
    """

    def __init__(self, num_classes: int = 1000, devices: Sequence[str | torch.device] = ("cuda:0", "cuda:1"),
                 dropout: float | None = None, *, weights: AlexNet | None = None) -> None:
        super().__init__()
        if weights is not None:
            if not isinstance(weights, AlexNet) or weights.variant != "paper":
                raise ValueError("the towers take their weights from AlexNet(variant='paper'): only it has the two "
                                 "towers")
            if weights.num_classes != num_classes:
                raise ValueError(f"num_classes={num_classes}, but the weights' fc8 has {weights.num_classes} classes")
            tower_like = {"width": 1.0, "image_size": PAPER_INPUT_SIZE, "lrn": DEFAULT_READING}
            different = {k: getattr(weights, k) for k, v in tower_like.items() if getattr(weights, k) != v}
            if different:
                raise ValueError(f"the towers are the paper's network ({tower_like}); these weights have {different}")
            dropout = weights.classifier.drop6.p if dropout is None else dropout
        dropout = 0.5 if dropout is None else dropout
        if len(devices) != 2:
            raise ValueError(f"the paper's model parallelism uses two devices, got {list(devices)}")
        self.devices = tuple(torch.device(d) for d in devices)
        for d in self.devices:
            if d.type == "cuda" and (not torch.cuda.is_available() or (d.index or 0) >= torch.cuda.device_count()):
                raise RuntimeError(
                    f"{d} is not available here ({torch.cuda.device_count()} CUDA devices). Pass "
                    "devices=('cpu', 'cpu') to run the two towers on the CPU."
                )
        self.num_classes = num_classes
        # Built on the meta device, then given memory: PyTorch's default initialisation of 62
        # million weights would be overwritten at once, every weight is copied in below.
        with torch.device("meta"):
            self.towers = nn.ModuleList([Tower(dropout), Tower(dropout)])
            self.fc8 = nn.Linear(4096, num_classes)
        self.to_empty(device="cpu")
        self._copy_from(AlexNet(num_classes, variant="paper", dropout=dropout) if weights is None else weights)
        self._place()

    def _place(self) -> None:
        self.towers[0].to(self.devices[0])
        self.towers[1].to(self.devices[1])
        self.fc8.to(self.devices[0])

    @staticmethod
    def _exchange(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-talk: each device gets both towers' activations, tower 0's first."""
        both_on_a = torch.cat([a, b.to(a.device)], dim=1)
        both_on_b = torch.cat([a.to(b.device), b], dim=1)
        return both_on_a, both_on_b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (3, PAPER_INPUT_SIZE, PAPER_INPUT_SIZE):
            raise ValueError(f"TwoGPUAlexNet takes (N, 3, 227, 227) images, got {tuple(x.shape)}")
        t0, t1 = self.towers
        a = t0.front(x.to(self.devices[0]))
        b = t1.front(x.to(self.devices[1]))
        a, b = self._exchange(a, b)                       # conv3 sees all 256 maps
        a = torch.flatten(t0.middle(a), 1)
        b = torch.flatten(t1.middle(b), 1)
        a, b = self._exchange(a, b)                       # fc6 sees all 9216 numbers
        a, b = self._exchange(t0.fc6(a), t1.fc6(b))       # fc7 sees all 4096 fc6 outputs
        a, b = t0.fc7(a), t1.fc7(b)
        return self.fc8(torch.cat([a, b.to(a.device)], dim=1))

    # --- converting from and to the grouped single-device model -------------------------

    def _split_layers(self, model: AlexNet) -> list[tuple[nn.Module, tuple[nn.Module, nn.Module]]]:
        """Each layer of the grouped model that the towers split, with its two halves (tower 0's first)."""
        f, c = model.features, model.classifier
        t0, t1 = self.towers
        return [
            (f.conv1, (t0.front.conv1, t1.front.conv1)), (f.conv2, (t0.front.conv2, t1.front.conv2)),
            (f.conv3, (t0.middle.conv3, t1.middle.conv3)), (f.conv4, (t0.middle.conv4, t1.middle.conv4)),
            (f.conv5, (t0.middle.conv5, t1.middle.conv5)), (c.fc6, (t0.fc6.fc6, t1.fc6.fc6)),
            (c.fc7, (t0.fc7.fc7, t1.fc7.fc7)),
        ]

    @torch.no_grad()
    def _copy_from(self, model: AlexNet) -> None:
        for whole, halves in self._split_layers(model):
            n = halves[0].weight.shape[0]  # output channels or neurons per tower
            for i, half in enumerate(halves):
                half.weight.copy_(whole.weight[i * n:(i + 1) * n])
                half.bias.copy_(whole.bias[i * n:(i + 1) * n])
        self.fc8.weight.copy_(model.classifier.fc8.weight)
        self.fc8.bias.copy_(model.classifier.fc8.bias)

    @classmethod
    def from_alexnet(cls, model: AlexNet, devices: Sequence[str | torch.device] = ("cuda:0", "cuda:1")
                     ) -> TwoGPUAlexNet:
        """Split a paper-variant :class:`~alexnet_lib.models.AlexNet` across two devices.

        Tower 0 gets the first half of every layer's kernels (conv1's filters 0-47, conv2's
        0-127, ...), which are the ones the grouped convolutions connect to each other.
        """
        if not isinstance(model, AlexNet) or model.variant != "paper":
            raise ValueError("from_alexnet needs AlexNet(variant='paper'): only it has the two towers")
        return cls(model.num_classes, devices, weights=model).train(model.training)

    @torch.no_grad()
    def to_alexnet(self) -> AlexNet:
        """Join the two towers into a grouped single-device model on the CPU."""
        model = AlexNet(self.num_classes, variant="paper", dropout=self.towers[0].fc6.drop6.p)
        for whole, halves in self._split_layers(model):
            whole.weight.copy_(torch.cat([h.weight.cpu() for h in halves]))
            whole.bias.copy_(torch.cat([h.bias.cpu() for h in halves]))
        model.classifier.fc8.weight.copy_(self.fc8.weight.cpu())
        model.classifier.fc8.bias.copy_(self.fc8.bias.cpu())
        return model.train(self.training)
