"""Batched derivatives of a surface function through autograd."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def gradient_and_hessian(fn: Callable[[Tensor], Tensor], points: Tensor) -> tuple[Tensor, Tensor]:
    """The gradient (N, 2) and Hessian (N, 2, 2) of `fn` at each of `points` (N, 2).

    Parts of the graph that do not depend on the point (a linear or constant formula) give
    zeros rather than an autograd error.
    """
    p = points.detach().clone().requires_grad_()
    value = fn(p).sum()
    if not value.requires_grad:
        return torch.zeros_like(p), torch.zeros(*p.shape, 2, dtype=p.dtype)
    (grad,) = torch.autograd.grad(value, p, create_graph=True)
    if not grad.requires_grad:
        return grad.detach(), torch.zeros(*p.shape, 2, dtype=p.dtype)
    rows = []
    for i in range(2):
        (row,) = torch.autograd.grad(grad[:, i].sum(), p, retain_graph=True, allow_unused=True)
        rows.append(torch.zeros_like(p) if row is None else row)
    return grad.detach(), torch.stack(rows, dim=1).detach()


def sharpness(fn: Callable[[Tensor], Tensor], points: list[tuple[float, float]]) -> float | None:
    """The largest Hessian eigenvalue λ over `points` (float64): gradient descent is stable
    there while lr·λ < 2. None when no point curves upward (or the value is not finite)."""
    if not points:
        return None
    _, hessian = gradient_and_hessian(fn, torch.tensor(points, dtype=torch.float64))
    top = float(torch.linalg.eigvalsh((hessian + hessian.transpose(1, 2)) / 2).max())
    return top if math.isfinite(top) and top > 0 else None


def suggested_lr(top: float | None) -> float | None:
    """A learning rate for gradient descent well inside the bound 2/λ: 1/λ, rounded down to
    one significant figure (1/1001.6 → 0.0009)."""
    if top is None:
        return None
    value = 1 / top
    scale = 10.0 ** math.floor(math.log10(value))
    return round(math.floor(value / scale) * scale, 12)
