"""Activation functions and their derivatives, as torch computes them: the values by
`torch.sigmoid`, `torch.tanh` and `torch.relu`, the derivatives by autograd (not by the
textbook formulas), so a curve shows what `loss.backward()` would pass back through it.

Where a derivative falls under `VANISHING` the gradient is said to vanish there: a signal
that passes through many such layers shrinks by that factor at each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
}
VANISHING = 0.01
MAX_POINTS = 2001
MAX_ABS_X = 100.0


def activation_curves(x_min: float, x_max: float, points: int) -> dict[str, Any]:
    """Each activation's value and autograd derivative on `points` evenly spaced x, in
    float64, with the x ranges where the derivative is under `VANISHING`."""
    # Rounded so that the grid's zero is 0 and its ends read as typed, not -4.4e-16.
    x = torch.linspace(x_min, x_max, points, dtype=torch.float64).round(decimals=12)
    curves = {}
    for name, fn in ACTIVATIONS.items():
        leaf = x.clone().requires_grad_()
        value = fn(leaf)
        (grad,) = torch.autograd.grad(value.sum(), leaf)
        curves[name] = {
            "value": value.detach().tolist(),
            "grad": grad.tolist(),
            "max_grad": float(grad.max()),
            "vanishing": _ranges(x, grad.abs() < VANISHING),
        }
    return {"x": x.tolist(), "vanishing_below": VANISHING, "functions": curves}


def _ranges(x: torch.Tensor, mask: torch.Tensor) -> list[list[float]]:
    """The runs of True in `mask` as [first x, last x] pairs."""
    ranges: list[list[float]] = []
    start = None
    for i, inside in enumerate(mask.tolist()):
        if inside and start is None:
            start = i
        if not inside and start is not None:
            ranges.append([float(x[start]), float(x[i - 1])])
            start = None
    if start is not None:
        ranges.append([float(x[start]), float(x[-1])])
    return ranges
