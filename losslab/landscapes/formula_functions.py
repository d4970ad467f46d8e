"""The functions a formula may call, one small torch function each.

Kept in a module of their own because three of them shadow Python builtins (abs, min, max),
and because the exported script copies their source verbatim.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch import Tensor


def _tensor(t: Tensor | float) -> Tensor:
    # Constants become float64 scalars: exact enough, and they never widen a float32 run.
    return t if isinstance(t, Tensor) else torch.tensor(t, dtype=torch.float64)


def sin(t: Tensor) -> Tensor:
    return torch.sin(_tensor(t))


def cos(t: Tensor) -> Tensor:
    return torch.cos(_tensor(t))


def tan(t: Tensor) -> Tensor:
    return torch.tan(_tensor(t))


def exp(t: Tensor) -> Tensor:
    return torch.exp(_tensor(t))


def log(t: Tensor) -> Tensor:
    return torch.log(_tensor(t))


def sqrt(t: Tensor) -> Tensor:
    return torch.sqrt(_tensor(t))


def tanh(t: Tensor) -> Tensor:
    return torch.tanh(_tensor(t))


def sigmoid(t: Tensor) -> Tensor:
    return torch.sigmoid(_tensor(t))


def relu(t: Tensor) -> Tensor:
    return torch.relu(_tensor(t))


def softplus(t: Tensor) -> Tensor:
    return torch.nn.functional.softplus(_tensor(t))


def abs(t: Tensor) -> Tensor:
    return torch.abs(_tensor(t))


def min(a: Tensor, b: Tensor) -> Tensor:
    return torch.minimum(_tensor(a), _tensor(b))


def max(a: Tensor, b: Tensor) -> Tensor:
    return torch.maximum(_tensor(a), _tensor(b))


# name -> (function, number of arguments)
FUNCTIONS: dict[str, tuple[Callable[..., Tensor], int]] = {
    f.__name__: (f, len(inspect.signature(f).parameters))
    for f in (sin, cos, tan, exp, log, sqrt, abs, tanh, sigmoid, relu, softplus, min, max)
}
