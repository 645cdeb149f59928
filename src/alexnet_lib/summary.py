"""A per-layer table of a network: output shape, parameters, multiply-adds, activations.

:func:`layer_table` runs one image through the model with forward hooks on every leaf
module and records, for each layer, in the order they run:

- the output shape (without the batch axis);
- the number of parameters;
- the multiply-adds (MACs) of convolutions and fully connected layers, the work that
  dominates: a convolution does ``in_channels / groups * kh * kw`` of them for every
  output number, a fully connected layer ``in_features`` per output; pooling, ReLU and
  normalisation are counted as 0 (they are a few operations per number, not hundreds);
- the output's size in numbers ("activations"); at 4 bytes each (float32) times the
  batch size, this is the memory a training step keeps for the backward pass, except
  for layers that work in place (``ReLU(inplace=True)``), which the table marks.

:func:`markdown_table` formats rows for a notebook (``IPython.display.Markdown``).
:func:`receptive_field` says how many input pixels one unit of a layer sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["LayerRow", "layer_table", "module_kind", "markdown_table", "receptive_field", "totals", "window_layers"]


@dataclass(frozen=True)
class LayerRow:
    """One layer of :func:`layer_table`."""

    name: str
    kind: str
    what: str
    output: tuple[int, ...]
    params: int
    macs: int
    activations: int
    inplace: bool


def module_kind(module: nn.Module) -> str:
    """A short description such as ``96 x 11x11/4`` or ``9216 -> 4096``."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        text = f"{module.out_channels} x {kh}x{kw}x{module.in_channels // module.groups}"
        if module.stride != (1, 1):
            text += f", stride {module.stride[0]}"
        if module.padding not in ((0, 0), 0, "valid"):
            text += f", pad {module.padding[0]}"
        if module.groups > 1:
            text += f", {module.groups} groups"
        return text
    if isinstance(module, nn.Linear):
        return f"{module.in_features} -> {module.out_features}"
    if isinstance(module, nn.MaxPool2d):
        return f"max {module.kernel_size}x{module.kernel_size}, stride {module.stride}"
    if isinstance(module, nn.LocalResponseNorm):
        return f"size {module.size}"
    if isinstance(module, nn.Dropout):
        return f"p = {module.p}"
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return f"to {module.output_size}"
    return ""


def _macs(module: nn.Module, out: torch.Tensor) -> int:
    per_image = out[0].numel()
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return per_image * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return per_image * module.in_features
    return 0


def layer_table(model: nn.Module, input_size: Sequence[int] = (3, 227, 227)) -> list[LayerRow]:
    """Run one ``input_size`` image through ``model`` (in eval mode, on its device) and tabulate its layers.

    The model is left in the training mode it was in. Layers that run more than once are
    listed once per call.
    """
    rows: list[LayerRow] = []
    names = {module: name for name, module in model.named_modules()}

    def hook(module: nn.Module, _inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        rows.append(LayerRow(
            name=names[module],
            kind=type(module).__name__,
            what=module_kind(module),
            output=tuple(out.shape[1:]),
            params=sum(p.numel() for p in module.parameters(recurse=False)),
            macs=_macs(module, out),
            activations=out[0].numel(),
            inplace=bool(getattr(module, "inplace", False)),
        ))

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = model.training
    device = next(model.parameters()).device
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_size, device=device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return rows


def totals(rows: Iterable[LayerRow]) -> dict[str, int]:
    """Sums over the rows: parameters, MACs, and activations of layers that store a new output."""
    rows = list(rows)
    return {
        "params": sum(r.params for r in rows),
        "macs": sum(r.macs for r in rows),
        "activations": sum(r.activations for r in rows if not r.inplace),
    }


def _num(n: int) -> str:
    return f"{n:,}" if n else ""


def markdown_table(rows: Iterable[LayerRow], *, kinds: Sequence[str] | None = None, batch: int = 1) -> str:
    """A Markdown table of ``rows`` (only those whose ``kind`` is in ``kinds``, if given) with a total line.

    ``batch`` scales the activation memory column (float32, 4 bytes per number).
    """
    rows = list(rows)
    shown = [r for r in rows if kinds is None or r.kind in kinds]
    lines = [
        "| layer | what | output | parameters | multiply-adds | activation memory |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in shown:
        memory = "(in place)" if r.inplace else f"{r.activations * 4 * batch / 2**20:.2f} MiB"
        shape = " x ".join(map(str, r.output))
        lines.append(f"| {r.name} | {r.what} | {shape} | {_num(r.params)} | {_num(r.macs)} | {memory} |")
    t = totals(rows)
    lines.append(f"| **total** | | | **{t['params']:,}** | **{t['macs']:,}** | "
                 f"**{t['activations'] * 4 * batch / 2**20:.1f} MiB** |")
    return "\n".join(lines)


def window_layers(model: nn.Module) -> list[tuple[str, int, int]]:
    """``(name, kernel size, stride)`` of every convolution and pooling layer, in order."""
    found = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d)):
            k, s = module.kernel_size, module.stride
            found.append((name, k if isinstance(k, int) else k[0], s if isinstance(s, int) else s[0]))
    return found


def receptive_field(layers: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """The receptive field ``(size, jump)`` after a chain of ``(kernel size, stride)`` layers.

    ``size`` is the width in input pixels that one output unit depends on; ``jump`` is
    the distance in input pixels between neighbouring output units. Each layer widens
    the field by ``(kernel - 1) * jump`` and multiplies the jump by its stride. Padding
    shifts the field but does not change its size.
    """
    size, jump = 1, 1
    for kernel, stride in layers:
        if kernel < 1 or stride < 1:
            raise ValueError(f"kernel size and stride must be at least 1, got ({kernel}, {stride})")
        size += (kernel - 1) * jump
        jump *= stride
    return size, jump
