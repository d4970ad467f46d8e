"""Landscapes of real models: two-parameter regressions trained with batch, mini-batch or
stochastic gradient descent, and y = w·x with one parameter. Logistic regression trains with
cross-entropy or, to show how a saturated sigmoid stalls it, with MSE on the sigmoid's output.

The two coordinates are the model's parameters (w, b); without a bias (`bias` off), the one
parameter w, whose runs keep the second coordinate at 0 (`Surface.parameters` is 1). The
drawn landscape (`fn`) is the full-data loss; the optimizer follows the loss of the batch it
is given, computed exactly as `nn.Linear` and `nn.MSELoss` / `nn.BCEWithLogitsLoss` compute
it (MSE on a sigmoid: `nn.MSELoss()(torch.sigmoid(out), y)`), with batches drawn by a
`DataLoader` shuffled by a seeded generator (a new order every epoch), or in data order with
`shuffle` off, so a run equals the plain torch training loop step for step (for an
element-wise optimizer, which steps nn.Linear's two tensors as it steps one: the loop that
Copy as PyTorch writes, losslab/script.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import torch
from torch import Tensor
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from ..calculus import gradient_and_hessian
from ..errors import InvalidInput
from .surfaces import Domain, Minimum, Surface

ModelName = Literal["linear_regression", "logistic_regression"]
Loss = Literal["cross_entropy", "mse"]
LOSSES: dict[str, tuple[Loss, ...]] = {
    "linear_regression": ("mse",),
    "logistic_regression": ("cross_entropy", "mse"),
}
"""The losses each model trains with; the first is its default."""
MAX_ROWS = 10_000


class ModelError(InvalidInput):
    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(("surface", *loc), message)


# The named data sets, each drawn from a seeded generator. Exported scripts carry their
# source (script.py), so a script draws the very data a run trained on.


def tiny(generator: torch.Generator) -> tuple[Tensor, Tensor]:
    return torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 6.0])


def noisy_line(generator: torch.Generator) -> tuple[Tensor, Tensor]:
    x = torch.rand(200, generator=generator, dtype=torch.float64) * 6 - 3
    y = 1.5 * x - 0.5 + 0.8 * torch.randn(200, generator=generator, dtype=torch.float64)
    return x, y


def two_classes(generator: torch.Generator) -> tuple[Tensor, Tensor]:
    labels = torch.arange(200) % 2
    x = (2.0 * labels - 1) + torch.randn(200, generator=generator, dtype=torch.float64)
    return x, labels.double()


def separable(generator: torch.Generator) -> tuple[Tensor, Tensor]:
    labels = torch.arange(200) % 2
    spread = torch.rand(200, generator=generator, dtype=torch.float64) * 2.5 + 0.5
    return (2.0 * labels - 1) * spread, labels.double()


NAMED_DATASETS: dict[str, dict[str, Callable[[torch.Generator], tuple[Tensor, Tensor]]]] = {
    "linear_regression": {"tiny": tiny, "noisy_line": noisy_line},
    "logistic_regression": {"two_classes": two_classes, "separable": separable},
}


def named_dataset(model: str, name: str, seed: int) -> tuple[Tensor, Tensor]:
    """(x, y) as float64 column vectors (n, 1)."""
    make = NAMED_DATASETS[model].get(name)
    if make is None:
        choices = ", ".join(NAMED_DATASETS[model])
        raise ModelError(("dataset",), f"Unknown dataset {name!r} for {model}; choose {choices}")
    x, y = make(torch.Generator().manual_seed(seed))
    return x.double().reshape(-1, 1), y.double().reshape(-1, 1)


def uploaded_dataset(model: str, data: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
    columns = []
    for axis in ("x", "y"):
        values = data.get(axis)
        if not isinstance(values, Sequence) or isinstance(values, str):
            raise ModelError(("dataset", axis), f"dataset.{axis} must be a list of numbers")
        for row, value in enumerate(values):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise ModelError(
                    ("dataset", axis, row), f"dataset.{axis}[{row}] must be a finite number"
                )
        columns.append(values)
    x, y = columns
    if len(x) != len(y) or not 2 <= len(x) <= MAX_ROWS:
        raise ModelError(
            ("dataset",), f"dataset.x and dataset.y need the same length, 2 to {MAX_ROWS}"
        )
    if model == "logistic_regression" and any(v not in (0, 1) for v in y):
        raise ModelError(("dataset", "y"), "logistic regression labels must be 0 or 1")
    if max(x) - min(x) <= 0:
        raise ModelError(("dataset", "x"), "dataset.x must not be constant")
    return _column(x), _column(y)


def _column(values: Sequence[float]) -> Tensor:
    return torch.tensor(values, dtype=torch.float64).reshape(-1, 1)


def parse_csv(text: str) -> dict[str, list[float]]:
    """Two numeric columns (an optional header row is skipped) as {x, y}."""
    rows = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if rows and not _is_number(rows[0].replace(";", ",").split(",")[0]):
        rows = rows[1:]
    if not 2 <= len(rows) <= MAX_ROWS:
        raise ModelError(("dataset",), f"the CSV needs 2 to {MAX_ROWS} rows of data")
    x: list[float] = []
    y: list[float] = []
    for number, line in enumerate(rows, start=1):
        cells = [c.strip() for c in line.replace(";", ",").split(",")]
        if len(cells) != 2:
            raise ModelError(("dataset",), f"row {number}: expected 2 columns, found {len(cells)}")
        for column, (cell, target) in enumerate(zip(cells, (x, y), strict=True), start=1):
            if not _is_number(cell) or not math.isfinite(float(cell)):
                raise ModelError(
                    ("dataset",),
                    f"row {number}, column {column}: {cell[:20]!r} is not a finite number",
                )
            target.append(float(cell))
    return {"x": x, "y": y}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _linear(p: Tensor, x: Tensor, bias: bool = True) -> Tensor:
    """nn.Linear(1, 1) with weight p[0] and bias p[1] (or nn.Linear(1, 1, bias=False) with
    weight p[0]), as F.linear computes it."""
    return F.linear(x, p[0:1].reshape(1, 1), p[1:2] if bias else None)


@dataclass(frozen=True, eq=False)
class ModelSurface(Surface):
    model: str = "linear_regression"
    data_x: Tensor = field(default_factory=lambda: torch.zeros(0))
    data_y: Tensor = field(default_factory=lambda: torch.zeros(0))
    batch_size: int | None = None
    seed: int = 0
    shuffle: bool = True
    bias: bool = True
    loss: Loss = "mse"
    dataset: str = ""
    """The named data set drawn with `seed`; empty for uploaded data."""
    note: str = ""

    def batch_loss(self, p: Tensor, x: Tensor, y: Tensor) -> Tensor:
        """The loss torch.nn computes for one batch: what the optimizer follows."""
        out = _linear(p, x, self.bias)
        if self.loss == "cross_entropy":
            return F.binary_cross_entropy_with_logits(out, y)
        if self.model == "logistic_regression":  # MSE on the sigmoid's output
            return F.mse_loss(torch.sigmoid(out), y)
        return F.mse_loss(out, y)

    @property
    def mini_batched(self) -> bool:
        return self.batch_size is not None

    def batches(self, dtype: torch.dtype) -> Iterator[tuple[Tensor, Tensor, int]]:
        """(x, y, epoch) for every step, forever: the whole data set or a DataLoader, shuffled
        by a seeded generator or in data order."""
        x, y = self.data_x.to(dtype), self.data_y.to(dtype)
        if self.batch_size is None:
            epoch = 0
            while True:
                yield x, y, epoch
                epoch += 1
        generator = torch.Generator().manual_seed(self.seed) if self.shuffle else None
        loader = DataLoader(
            TensorDataset(x, y),
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            generator=generator,
        )
        epoch = 0
        while True:
            for xb, yb in loader:
                yield xb, yb, epoch
            epoch += 1


def line(p: Tensor, xs: Tensor) -> Tensor:
    """w·x + b for every point p = (w, b) (..., 2) and sample x of xs (n,): (..., n)."""
    return p[..., 0, None] * xs + p[..., 1, None]


def line_through_origin(p: Tensor, xs: Tensor) -> Tensor:
    """w·x for every point p = (w,) (..., 1) and sample x of xs (n,): (..., n)."""
    return p[..., 0, None] * xs


def mean_squared_error(out: Tensor, target: Tensor) -> Tensor:
    return ((out - target) ** 2).mean(dim=-1)


def binary_cross_entropy(out: Tensor, target: Tensor) -> Tensor:
    """Of logits `out`, as F.binary_cross_entropy_with_logits."""
    return (F.softplus(out) - target * out).mean(dim=-1)


def sigmoid_squared_error(out: Tensor, target: Tensor) -> Tensor:
    """Of logits `out`: the squared error of the sigmoid's output, as
    F.mse_loss(torch.sigmoid(out), target)."""
    return ((torch.sigmoid(out) - target) ** 2).mean(dim=-1)


def full_loss_parts(
    model: str, loss: str, bias: bool
) -> tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor, Tensor], Tensor]]:
    """The model's output and the mean loss that make `fn`; exported scripts carry their
    source to compute a frame's loss as the engine does."""
    outputs = line if bias else line_through_origin
    if loss == "cross_entropy":
        return outputs, binary_cross_entropy
    if model == "logistic_regression":
        return outputs, sigmoid_squared_error
    return outputs, mean_squared_error


def _full_loss(model: str, loss: str, x: Tensor, y: Tensor, bias: bool = True) -> Any:
    """The full-data loss as a function of points (..., 2), broadcast over the data; without
    a bias, of w = p[..., 0] alone (a one-parameter run's point is (w,))."""
    xs, ys = x.reshape(-1), y.reshape(-1)
    outputs, mean_loss = full_loss_parts(model, loss, bias)

    def fn(p: Tensor) -> Tensor:
        return mean_loss(outputs(p, xs.to(p.dtype)), ys.to(p.dtype))

    return fn


def _least_squares_line(x: Tensor, y: Tensor) -> tuple[float, float]:
    """(w, b) of the least-squares line, in exactly rounded sums: the same bits on every call
    (LAPACK's lstsq may differ in its last bits from one call to the next)."""
    xs, ys = x.reshape(-1).tolist(), y.reshape(-1).tolist()
    mean_x, mean_y = math.fsum(xs) / len(xs), math.fsum(ys) / len(ys)
    spread = math.fsum((a - mean_x) ** 2 for a in xs)
    if spread == 0.0:  # every x equal: the minimum-norm solution, as lstsq answers it
        scale = mean_y / (mean_x * mean_x + 1.0)
        return scale * mean_x, scale
    w = math.fsum((a - mean_x) * (b - mean_y) for a, b in zip(xs, ys, strict=True)) / spread
    return w, mean_y - w * mean_x


def _optimum(model: str, loss: str, x: Tensor, y: Tensor, bias: bool = True) -> Minimum | None:
    """The minimum of the full-data loss, found in float64; None where it has none at a
    finite point (or, for MSE on a sigmoid, where Newton's method finds none)."""
    if not bias:  # least squares through the origin: w = Σxy / Σx²
        return Minimum(float((x * y).sum() / (x * x).sum()), 0.0, "global")
    if model == "linear_regression":
        return Minimum(*_least_squares_line(x, y), "global")
    if _separable(x, y):
        return None
    fn, p = _full_loss(model, "cross_entropy", x, y), torch.zeros(2, dtype=torch.float64)
    for _ in range(50):  # Newton's method: the logistic loss is strictly convex here
        g, h = gradient_and_hessian(fn, p[None])
        p = p - torch.linalg.solve(h[0], g[0])
    if loss == "cross_entropy":
        return Minimum(float(p[0]), float(p[1]), "global")
    # MSE on a sigmoid is not convex: Newton's method from the cross-entropy optimum, and a
    # minimum above what a saturated sigmoid reaches far away is only local.
    fn = _full_loss(model, loss, x, y)
    p, converged = _newton(fn, p)
    if not converged:
        return None
    kind: Literal["global", "local"] = "global"
    if float(fn(p)) > _saturated_limit(x, y):
        kind = "local"
    return Minimum(float(p[0]), float(p[1]), kind)


def _newton(fn: Callable[[Tensor], Tensor], p: Tensor) -> tuple[Tensor, bool]:
    """Newton's method with backtracking from `p` (float64): the last point, and whether it
    is a minimum (the steps ended where the Hessian is positive definite). Iterates that run
    off into a flat tail never stop: their steps do not shrink."""
    value = fn(p)
    for _ in range(100):
        g, h = (t[0] for t in gradient_and_hessian(fn, p[None]))
        positive = bool(torch.linalg.eigvalsh(h)[0] > 0)
        step = -torch.linalg.solve(h, g) if positive else -g
        if positive and float(step.norm()) <= 1e-10 * (1 + float(p.norm())):
            return p, True
        t = 1.0
        while not fn(p + t * step) <= value and t > 1e-10:
            t /= 2
        p = p + t * step
        value = fn(p)
    return p, False


def _saturated_limit(x: Tensor, y: Tensor) -> float:
    """The lowest mean((sigmoid(w·x + b) − y)²) gets far from the origin, where the sigmoid
    saturates into a hard classifier: the share of misclassified samples (a sample on the
    boundary counts 1/4), at the best boundary and orientation."""
    values, inverse = torch.unique(x.reshape(-1), return_inverse=True)
    counts = torch.bincount(inverse, minlength=len(values)).double()
    ones = torch.zeros_like(counts).index_add_(0, inverse, y.reshape(-1).double())
    zeros = counts - ones
    ones_below = torch.cat([torch.zeros(1, dtype=counts.dtype), ones.cumsum(0)])
    zeros_below = torch.cat([torch.zeros(1, dtype=counts.dtype), zeros.cumsum(0)])
    ones_above, zeros_above = ones_below[-1] - ones_below, zeros_below[-1] - zeros_below
    errors = [
        ones_below + zeros_above,  # boundary between values, 1 above it
        zeros_below + ones_above,  # 1 below it
        ones_below[:-1] + zeros_above[1:] + counts / 4,  # boundary through a value
        zeros_below[:-1] + ones_above[1:] + counts / 4,
    ]
    return float(min(e.min() for e in errors)) / len(x)


def _separable(x: Tensor, y: Tensor) -> bool:
    ones, zeros = x[y == 1], x[y == 0]
    if len(ones) == 0 or len(zeros) == 0:
        return True
    return bool(ones.min() > zeros.max() or zeros.min() > ones.max())


@lru_cache(maxsize=64)
def _cached(
    model: str,
    dataset_key: Any,
    batch_size: int | None,
    seed: int,
    shuffle: bool,
    bias: bool,
    loss: Loss,
) -> ModelSurface:
    kind, payload = dataset_key
    if kind == "named":
        x, y = named_dataset(model, payload, seed)
        label = payload
    else:
        x, y = uploaded_dataset(model, {"x": list(payload[0]), "y": list(payload[1])})
        label = f"{len(payload[0])} uploaded rows"
    if batch_size is not None and not 1 <= batch_size <= len(x):
        raise ModelError(
            ("batch_size",), f"batch_size must be between 1 and {len(x)} (the data set's size)"
        )
    optimum = _optimum(model, loss, x, y, bias)
    centre = (0.0, 0.0) if optimum is None else (optimum.x, optimum.y)
    half = (max(3.0, 1.5 * abs(centre[0])), max(3.0, 1.5 * abs(centre[1])))
    if not bias:  # y is not a parameter: a thin band around 0 for the drawing
        half = (half[0], 1.0)
    domain = Domain(
        (centre[0] - half[0], centre[0] + half[0]), (centre[1] - half[1], centre[1] + half[1])
    )
    order = "shuffled every epoch" if shuffle else "in data order"
    if batch_size is None:
        mode = f"batch gradient descent: all {len(x)} samples every step"
    elif batch_size == 1:
        mode = f"stochastic gradient descent: one sample per step, {order}"
    else:
        mode = f"mini-batch gradient descent: {batch_size} samples per step, {order}"
    note = ""
    if optimum is None and _separable(x, y):
        note = (
            "The classes are separable: the loss has no finite minimum, and w grows without bound."
        )
    elif optimum is None:
        note = (
            "Newton's method finds no finite minimum: the loss keeps falling as w grows and "
            "the sigmoid saturates."
        )
    elif optimum.kind == "local":
        note = (
            "The minimum marked is local: far away, where the sigmoid saturates, the loss "
            "falls lower still."
        )
    title = "Linear regression" if model == "linear_regression" else "Logistic regression"
    if not bias:
        title = "Linear regression through the origin"
    what, formula = {
        "linear_regression": ("mean squared error", "L(w, b) = mean((w·x + b − y)²)"),
        "cross_entropy": ("binary cross entropy", "L(w, b) = mean(BCE(sigmoid(w·x + b), y))"),
        "mse": (
            "mean squared error of the sigmoid's output",
            "L(w, b) = mean((sigmoid(w·x + b) − y)²)",
        ),
    }[model if model == "linear_regression" else loss]
    remark = ""
    if model == "logistic_regression" and loss == "mse":
        title += " with MSE"
        remark = (
            "The gradient vanishes where the sigmoid saturates: a sample far on the wrong "
            "side of the boundary barely pulls (cross-entropy keeps pulling). "
        )
    described = f"y ≈ w·x + b over {len(x)} samples, as a function of (w, b)"
    if not bias:
        formula = "L(w) = mean((w·x − y)²)"
        described = (
            f"y ≈ w·x over {len(x)} samples (nn.Linear(1, 1, bias=False)), as a function of "
            "its one parameter w"
        )
    return ModelSurface(
        name=model,
        title=f"{title} ({label})",
        description=f"The {what} of {described}; steps use {mode}. {remark}{note}".strip(),
        formula=formula,
        fn=_full_loss(model, loss, x, y, bias),
        domain=domain,
        default_start=(centre[0] - 0.8 * half[0], centre[1] + 0.8 * half[1] if bias else 0.0),
        minima=() if optimum is None else (optimum,),
        saddles=(),
        model=model,
        data_x=x,
        data_y=y,
        batch_size=batch_size,
        seed=seed,
        shuffle=shuffle,
        bias=bias,
        loss=loss,
        dataset=payload if kind == "named" else "",
        parameters=2 if bias else 1,
        note=note,
    )


def model_surface(
    model: object,
    dataset: object,
    batch_size: object = None,
    seed: object = 0,
    shuffle: object = True,
    bias: object = True,
    loss: object = None,
) -> ModelSurface:
    """The surface of a regression model on a named or uploaded data set: over (w, b), or
    over w alone with `bias` off (linear regression only). `shuffle` off takes the
    mini-batches in data order (`DataLoader(shuffle=False)`). `loss` is one of the model's
    `LOSSES` (None: its first): logistic regression trains with cross-entropy or with MSE on
    the sigmoid's output."""
    if model not in NAMED_DATASETS:
        raise ModelError(("model",), f"model must be one of {[*NAMED_DATASETS, 'mlp_plane']}")
    assert isinstance(model, str)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ModelError(("seed",), "seed must be a whole number ≥ 0")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)):
        raise ModelError(("batch_size",), "batch_size must be a whole number or null (full batch)")
    if not isinstance(shuffle, bool):
        raise ModelError(("shuffle",), "shuffle must be true or false")
    if not isinstance(bias, bool):
        raise ModelError(("bias",), "bias must be true or false")
    if not bias and model != "linear_regression":
        raise ModelError(("bias",), "bias: false is offered for linear_regression (y = w·x)")
    wanted = LOSSES[model][0] if loss is None else loss
    chosen = next((name for name in LOSSES[model] if name == wanted), None)
    if chosen is None:
        choices = " or ".join(LOSSES[model])
        why = " (cross-entropy takes labels 0/1)" if model == "linear_regression" else ""
        raise ModelError(("loss",), f"{model} trains with {choices}{why}")
    if dataset is None:
        dataset = list(NAMED_DATASETS[model])[-1 if model == "linear_regression" else 0]
    if isinstance(dataset, str):
        key: Any = ("named", dataset)
        named_dataset(model, dataset, 0)  # validates the name
    elif isinstance(dataset, Mapping):
        uploaded_dataset(model, dataset)
        key = ("uploaded", (tuple(dataset["x"]), tuple(dataset["y"])))
    else:
        raise ModelError(("dataset",), "dataset must be a name or {x: [...], y: [...]}")
    return _cached(model, key, batch_size, seed, shuffle, bias, chosen)
