"""Many independent runs stepped as one: cell k is row k of one (N, 2) leaf tensor.

`descend` is the batched counterpart of the engine's run loop: one forward, backward and
optimizer step for all cells per step, and the engine's stops (losslab/engine.py) applied to each
cell at every step, cheaply (see `_Descent`). The optimizers it steps:

- `TorchRows`: a real torch.optim optimizer over the whole leaf. For element-wise optimizers
  every operation acts on each element alone, so each row follows exactly the trajectory a
  single run of the same optimizer from that row's start follows.
- Per-cell rules (`SGDRule`, `AdamRule`, `RMSpropRule`, `AdagradRule`) take one value of each
  numeric hyperparameter per cell, which torch.optim cannot. They repeat torch's single-tensor
  implementations operation by operation, replacing each Python-scalar argument by a per-cell
  tensor fed to a kernel that rounds the same way:

      x.add_(y, alpha=s)         ->  x.addcmul_(y, s)       (one fused multiply-add each)
      x.addcmul_(y, z, value=s)  ->  x.addcmul_(s * y, z)
      x.addcdiv_(y, z, value=s)  ->  x.addcdiv_(s * y, z)

  Scalar arithmetic torch does on Python floats is done on float64 tensors (powers on the
  distinct values with Python's own `**`) and cast once, as the kernel casts its scalar.
  tests/test_maps.py pins every rule to torch.optim.
- `AdafactorRule`: Adafactor scales each step by the norms of the whole parameter, which
  couples the rows of one leaf; here the norms are taken per row.
- `TorchGroups`: the slow, obvious way for everything else: one torch.optim optimizer with a
  parameter group per cell, each group's parameter a view of its row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor
from torch.nn import functional as F

from .engine import RunConfig
from .optimizers import OptimizerSpec


class CellOptimizer(Protocol):
    def step(self) -> None:
        """One step of every cell, from the gradient in `param.grad`."""

    def state(self) -> list[Tensor]:
        """State tensors, per cell (leading dimension N) or shared by all cells (0-d)."""

    def sanitize(self) -> None:
        """Zero non-finite state values (all in stopped cells) so they stay out of checks."""

    def compact(self, keep: Tensor, param: Tensor) -> bool:
        """Carry on with only the cells `keep` (row indices), now the rows of leaf `param`.
        False if this optimizer cannot; it then keeps every cell."""


def _sanitize(tensors: list[Tensor]) -> None:
    for tensor in tensors:
        torch.nan_to_num_(tensor, nan=0.0, posinf=0.0, neginf=0.0)


class TorchRows:
    """A torch.optim optimizer over the whole leaf, for element-wise optimizers."""

    def __init__(
        self, spec: OptimizerSpec, hyperparameters: Mapping[str, Any], param: Tensor
    ) -> None:
        self.spec, self.hyperparameters = spec, hyperparameters
        self.optimizer = spec.create([param], hyperparameters)
        self.param = param

    def step(self) -> None:
        self.optimizer.step()

    def state(self) -> list[Tensor]:
        values = self.optimizer.state.get(self.param, {}).values()
        return [value for value in values if isinstance(value, Tensor)]

    def sanitize(self) -> None:
        _sanitize([t for t in self.state() if t.is_floating_point()])

    def compact(self, keep: Tensor, param: Tensor) -> bool:
        """A new optimizer over `param`, given the kept rows of the old one's state."""
        n = self.param.shape[0]
        old = self.optimizer
        state = old.state.get(self.param, {})
        self.optimizer = self.spec.create([param], self.hyperparameters)
        self.optimizer.state[param] = {key: _rows(v, keep, n) for key, v in state.items()}
        # pytorch_optimizer's classes count steps in the parameter group, not its state.
        for group, before in zip(self.optimizer.param_groups, old.param_groups, strict=True):
            group.update({key: value for key, value in before.items() if key != "params"})
        self.param = param
        return True


def _rows(value: Any, keep: Tensor, n: int) -> Any:
    """Rows `keep` of a per-cell tensor; anything else (a step count) as it is."""
    if isinstance(value, Tensor):
        return value[keep] if value.dim() and value.shape[0] == n else value.clone()
    return value


class TorchGroups:
    """One parameter group per cell, or per block of `block` consecutive cells. Each group's
    parameter shares storage with its rows of `param`, and its gradient is a view of one
    buffer, so the caller's batched tensors stay the single source of points and gradients.

    Blocks are for element-wise optimizers whose groups are independent: a group holds many
    cells that share its settings (a benchmark's starts at one lr), as rows of one parameter.
    """

    def __init__(
        self,
        param: Tensor,
        spec: OptimizerSpec,
        groups: list[dict[str, Any]],
        block: int = 1,
    ) -> None:
        self.param, self.block = param, block
        rows = param.detach()
        self.grads = torch.zeros_like(rows)
        cells = []
        for k in range(0, rows.shape[0], block):
            if block == 1:
                cell = rows[k].view(spec.param_shape).requires_grad_()
                cell.grad = self.grads[k].view(spec.param_shape)
            else:
                cell = rows[k : k + block].requires_grad_()
                cell.grad = self.grads[k : k + block]
            cells.append(cell)
        self.cells = cells
        per_cell = [{"params": [c], **g} for c, g in zip(cells, groups, strict=True)]
        self.optimizer: torch.optim.Optimizer = spec.create_per_group(per_cell)

    def step(self) -> None:
        assert self.param.grad is not None
        self.grads.copy_(self.param.grad)
        self.optimizer.step()

    def state(self) -> list[Tensor]:
        first = self.optimizer.state.get(self.cells[0], {})
        keys = [key for key, value in first.items() if isinstance(value, Tensor)]
        if self.block == 1:
            return [torch.stack([self.optimizer.state[c][key] for c in self.cells]) for key in keys]
        # A block's state is per row, or one value (a step count) that each row shares.
        return [
            torch.cat([self._rows(self.optimizer.state[c][key]) for c in self.cells])
            for key in keys
        ]

    def _rows(self, value: Tensor) -> Tensor:
        return value.reshape(1).expand(self.block) if value.dim() == 0 else value

    def sanitize(self) -> None:
        _sanitize(
            [
                value
                for cell in self.cells
                for value in self.optimizer.state.get(cell, {}).values()
                if isinstance(value, Tensor) and value.is_floating_point()
            ]
        )

    def compact(self, keep: Tensor, param: Tensor) -> bool:
        return False


class _Powers:
    """base ** exponent per cell, computed by Python on each distinct base as torch.optim does."""

    def __init__(self, base: Tensor) -> None:
        values, self.index = torch.unique(base, return_inverse=True)
        self.values: list[float] = values.tolist()

    def __call__(self, exponent: float) -> Tensor:
        table = torch.tensor([v**exponent for v in self.values], dtype=torch.float64)
        return table[self.index]


class _Rows:
    """Base of the hand-written optimizers. By convention every tensor attribute whose leading
    dimension is the number of cells holds one row per cell, which lets `compact` select
    rows without knowing the optimizer."""

    param: Tensor

    def state(self) -> list[Tensor]:
        raise NotImplementedError

    def sanitize(self) -> None:
        _sanitize(self.state())

    def compact(self, keep: Tensor, param: Tensor) -> bool:
        n = self.param.shape[0]
        for name, value in list(vars(self).items()):
            if isinstance(value, _Powers):
                value.index = value.index[keep]
            elif isinstance(value, dict):
                setattr(self, name, {k: _rows(v, keep, n) for k, v in value.items()})
            else:
                setattr(self, name, _rows(value, keep, n))
        self.param = param
        return True


class _Rule(_Rows):
    """Shared parts of the per-cell rules: hyperparameters as (N, 2) float64 tensors (one value
    per cell, repeated per coordinate so every kernel runs on contiguous operands)."""

    def __init__(self, param: Tensor, values: Mapping[str, Tensor], maximize: bool) -> None:
        self.param = param
        self.dtype = param.dtype
        self.maximize = maximize
        self.values = {
            name: v.reshape(-1, 1).expand(-1, 2).contiguous() for name, v in values.items()
        }
        self.t = 0

    def f64(self, name: str) -> Tensor:
        return self.values[name]

    def cast(self, value: Tensor) -> Tensor:
        return value.to(self.dtype)

    def gradient(self) -> Tensor:
        grad = self.param.grad
        assert grad is not None
        return -grad if self.maximize else grad

    def decayed(self, grad: Tensor, weight_decay: Tensor, decays: Tensor | None) -> Tensor:
        """grad.add(param, alpha=weight_decay), in the cells where weight_decay != 0."""
        if decays is None:
            return grad
        return torch.where(decays, grad.addcmul(self.param, weight_decay), grad)

    def nonzero(self, name: str) -> Tensor | None:
        mask = self.f64(name) != 0
        return mask if bool(mask.any()) else None


class SGDRule(_Rule):
    def __init__(
        self,
        param: Tensor,
        values: Mapping[str, Tensor],
        *,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(param, values, maximize)
        self.nesterov = nesterov
        self.neg_lr = self.cast(-self.f64("lr"))
        self.momentum = self.cast(self.f64("momentum"))
        self.has_momentum = self.nonzero("momentum")
        self.one_minus_dampening = self.cast(1 - self.f64("dampening"))
        self.weight_decay = self.cast(self.f64("weight_decay"))
        self.decays = self.nonzero("weight_decay")
        self.buf: Tensor | None = None

    @torch.no_grad()
    def step(self) -> None:
        grad = self.decayed(self.gradient(), self.weight_decay, self.decays)
        if self.has_momentum is not None:
            if self.buf is None:
                self.buf = grad.clone()
            else:
                self.buf.mul_(self.momentum).addcmul_(grad, self.one_minus_dampening)
            update = grad.addcmul(self.buf, self.momentum) if self.nesterov else self.buf
            # torch keeps no buffer where momentum == 0 and steps along the gradient there
            grad = torch.where(self.has_momentum, update, grad)
        self.param.addcmul_(grad, self.neg_lr)

    def state(self) -> list[Tensor]:
        return [] if self.buf is None else [self.buf]


class AdamRule(_Rule):
    """Adam and AdamW (AdamW is Adam with decoupled weight decay in torch)."""

    def __init__(
        self,
        param: Tensor,
        values: Mapping[str, Tensor],
        *,
        amsgrad: bool = False,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        super().__init__(param, values, maximize)
        self.amsgrad = amsgrad
        self.decoupled = decoupled_weight_decay
        lr, wd = self.f64("lr"), self.f64("weight_decay")
        beta1, beta2 = self.f64("betas.0"), self.f64("betas.1")
        self.lr = lr
        self.one_minus_beta1 = self.cast(1 - beta1)
        self.beta2 = self.cast(beta2)
        self.one_minus_beta2 = self.cast(1 - beta2)
        self.eps = self.cast(self.f64("eps"))
        self.powers1, self.powers2 = _Powers(beta1), _Powers(beta2)
        self.decays = self.nonzero("weight_decay")
        self.weight_decay = self.cast(wd)
        self.shrink = self.cast(torch.where(wd != 0, 1 - lr * wd, 1.0))
        self.exp_avg = torch.zeros_like(param.detach())
        self.exp_avg_sq = torch.zeros_like(self.exp_avg)
        self.max_exp_avg_sq = torch.zeros_like(self.exp_avg) if amsgrad else None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        grad = self.gradient()
        if self.decoupled and self.decays is not None:
            self.param.mul_(self.shrink)
        elif not self.decoupled:
            grad = self.decayed(grad, self.weight_decay, self.decays)
        self.exp_avg.lerp_(grad, self.one_minus_beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(self.one_minus_beta2 * grad, grad)
        step = float(self.t)
        neg_step_size = -(self.lr / (1 - self.powers1(step)))
        bias_correction2_sqrt = (1 - self.powers2(step)).sqrt()
        second = self.exp_avg_sq
        if self.max_exp_avg_sq is not None:
            torch.maximum(self.max_exp_avg_sq, self.exp_avg_sq, out=self.max_exp_avg_sq)
            second = self.max_exp_avg_sq
        denom = (second.sqrt() / self.cast(bias_correction2_sqrt)).add_(self.eps)
        self.param.addcdiv_(self.cast(neg_step_size) * self.exp_avg, denom)

    def state(self) -> list[Tensor]:
        extra = [] if self.max_exp_avg_sq is None else [self.max_exp_avg_sq]
        return [self.exp_avg, self.exp_avg_sq, *extra]


class RMSpropRule(_Rule):
    def __init__(
        self,
        param: Tensor,
        values: Mapping[str, Tensor],
        *,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(param, values, maximize)
        alpha = self.f64("alpha")
        self.alpha = self.cast(alpha)
        self.one_minus_alpha = self.cast(1 - alpha)
        self.eps = self.cast(self.f64("eps"))
        self.neg_lr = self.cast(-self.f64("lr"))
        self.momentum = self.cast(self.f64("momentum"))
        self.weight_decay = self.cast(self.f64("weight_decay"))
        self.decays = self.nonzero("weight_decay")
        moving = self.f64("momentum") > 0
        self.all_momentum = bool(moving.all())
        self.no_momentum = ~moving
        zeros = torch.zeros_like(param.detach())
        self.square_avg = zeros
        self.grad_avg = zeros.clone() if centered else None
        self.buf = zeros.clone() if bool(moving.any()) else None

    @torch.no_grad()
    def step(self) -> None:
        grad = self.decayed(self.gradient(), self.weight_decay, self.decays)
        self.square_avg.mul_(self.alpha).addcmul_(self.one_minus_alpha * grad, grad)
        if self.grad_avg is not None:
            self.grad_avg.lerp_(grad, self.one_minus_alpha)
            avg = self.square_avg.addcmul(self.grad_avg, self.grad_avg, value=-1).sqrt_()
        else:
            avg = self.square_avg.sqrt()
        avg = avg.add_(self.eps)
        if self.buf is None:
            self.param.addcdiv_(self.neg_lr * grad, avg)
            return
        self.buf.mul_(self.momentum).addcdiv_(grad, avg)
        if self.all_momentum:
            self.param.addcmul_(self.buf, self.neg_lr)
            return
        # torch keeps no buffer where momentum == 0 and takes the plain step there
        self.buf.masked_fill_(self.no_momentum, 0.0)
        plain = self.param.addcdiv(self.neg_lr * grad, avg)
        self.param.addcmul_(self.buf, self.neg_lr)
        torch.where(self.no_momentum, plain, self.param, out=self.param)

    def state(self) -> list[Tensor]:
        return [t for t in (self.square_avg, self.grad_avg, self.buf) if t is not None]


class AdagradRule(_Rule):
    def __init__(
        self, param: Tensor, values: Mapping[str, Tensor], *, maximize: bool = False
    ) -> None:
        super().__init__(param, values, maximize)
        self.lr, self.lr_decay = self.f64("lr"), self.f64("lr_decay")
        self.eps = self.cast(self.f64("eps"))
        self.weight_decay = self.cast(self.f64("weight_decay"))
        self.decays = self.nonzero("weight_decay")
        self.sum = self.cast(self.f64("initial_accumulator_value")).clone()

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        grad = self.decayed(self.gradient(), self.weight_decay, self.decays)
        neg_clr = -(self.lr / (1 + (float(self.t) - 1) * self.lr_decay))
        self.sum.addcmul_(grad, grad, value=1)
        std = self.sum.sqrt().add_(self.eps)
        self.param.addcdiv_(self.cast(neg_clr) * grad, std)

    def state(self) -> list[Tensor]:
        return [self.sum]


class AdafactorRule(_Rows):
    """torch's Adafactor for vector parameters, with the parameter and update norms per row."""

    def __init__(self, param: Tensor, hyperparameters: Mapping[str, Any]) -> None:
        self.param = param
        self.lr = float(hyperparameters["lr"])
        self.beta2_decay = float(hyperparameters["beta2_decay"])
        eps1, self.eps2 = hyperparameters["eps"]
        self.eps1 = torch.finfo(param.dtype).eps if eps1 is None else eps1
        self.d = float(hyperparameters["d"])
        self.weight_decay = float(hyperparameters["weight_decay"])
        self.maximize = bool(hyperparameters["maximize"])
        self.variance = torch.zeros_like(param.detach())
        self.t = 0

    @torch.no_grad()
    def step(self) -> None:
        assert self.param.grad is not None
        grad = -self.param.grad if self.maximize else self.param.grad
        self.t += 1
        step = float(self.t)
        one_minus_beta2 = step**self.beta2_decay
        rho = min(self.lr, 1 / (step**0.5))
        root_numel = 2**0.5
        alpha = _row_norms(self.param).div_(root_numel).clamp_(min=self.eps2).mul_(rho)
        if self.weight_decay != 0:
            self.param.mul_(1 - self.lr * self.weight_decay)
        self.variance.lerp_(grad * grad, one_minus_beta2)
        update = self.variance.clone().clamp_(min=self.eps1 * self.eps1).rsqrt_()
        update.mul_(grad)
        denom = _row_norms(update).div_(root_numel * self.d).clamp_(min=1.0)
        scale = (-alpha / denom).to(self.param.dtype)
        self.param.addcmul_(update, scale[:, None].expand(-1, 2).contiguous())

    def state(self) -> list[Tensor]:
        return [self.variance]


def _row_norms(rows: Tensor) -> Tensor:
    """Each row's 2-norm as torch computes it for a lone 2-vector, then as a Python float."""
    norms: Tensor = torch.linalg.vector_norm(rows, dim=1)
    return norms.to(torch.float64)


def _flag(values: Mapping[str, Any], name: str) -> bool:
    return bool(values.get(name, False))


RULES = frozenset({"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"})


def make_rule(
    name: str, param: Tensor, numbers: Mapping[str, Tensor], flags: Mapping[str, Any]
) -> CellOptimizer | None:
    """The per-cell rule for optimizer `name`, or None if there is none."""
    maximize = _flag(flags, "maximize")
    if name == "SGD":
        return SGDRule(param, numbers, nesterov=_flag(flags, "nesterov"), maximize=maximize)
    if name in ("Adam", "AdamW"):
        decoupled = name == "AdamW" or _flag(flags, "decoupled_weight_decay")
        return AdamRule(
            param,
            numbers,
            amsgrad=_flag(flags, "amsgrad"),
            maximize=maximize,
            decoupled_weight_decay=decoupled,
        )
    if name == "RMSprop":
        return RMSpropRule(param, numbers, centered=_flag(flags, "centered"), maximize=maximize)
    if name == "Adagrad":
        return AdagradRule(param, numbers, maximize=maximize)
    return None


RUNNING, CONVERGED, DIVERGED = 0, 1, 2
# Parked (stopped) rows are dropped from the batch once they are this many and a quarter.
COMPACT_AT = 64
F64 = torch.float64


class Recorder(Protocol):
    """Sees every frame of every cell in the batch: `Trace` keeps them all, a benchmark's
    first-hit recorder (losslab/benchmark.py) only when each cell first reaches its target."""

    def record(self, step: int, cells: Tensor, data: Tensor, loss: Tensor, grad: Tensor) -> None:
        """Frame `step` of cells `cells` (indices): their points, losses and gradients. Parked
        cells are recorded too, at their last point; `finish` says which frames count."""

    def finish(self, frames: Tensor) -> None:
        """The run has ended: cell i yielded frames 0 .. frames[i] − 1."""


def descend(
    config: RunConfig,
    param: Tensor,
    optimizer: CellOptimizer,
    tick: Callable[[int], None],
    trace: Recorder | None = None,
) -> Ends:
    """Run every cell (row of leaf `param`) as the engine runs `config`, calling `tick(step)`
    before each step; each cell stops where the engine would stop its single run. With a
    `trace` (a `Recorder`), every cell's frames are seen too."""
    return _Descent(config, param, optimizer, tick, trace).run()


@dataclass
class Ends:
    points: Tensor  # (N, 2) float64: each cell's last frame
    loss: Tensor  # (N,) float64
    status: Tensor  # (N,) int8: RUNNING (took every step), CONVERGED or DIVERGED
    stopped_at: Tensor  # (N,) int64: the frame where the cell stopped
    frames: Tensor  # (N,) int64: how many frames its single run yields (see `Trace`)


class Trace:
    """Every cell's frames, as the engine's single run yields them: the point, loss and
    gradient at each step, in the run's dtype. Frame k of cell i is row [k, i].

    The engine ends a run without yielding the frame where a value became non-finite, but
    yields the frame that left the divergence bound; `Ends.frames` counts accordingly, and
    `finish` blanks (NaN) everything after a cell's last frame.
    """

    def __init__(self, cells: int, steps: int, dtype: torch.dtype) -> None:
        self.points = torch.full((steps + 1, cells, 2), math.nan, dtype=dtype)
        self.loss = torch.full((steps + 1, cells), math.nan, dtype=dtype)
        self.grad = torch.full((steps + 1, cells, 2), math.nan, dtype=dtype)

    def record(self, step: int, cells: Tensor, data: Tensor, loss: Tensor, grad: Tensor) -> None:
        self.points[step].index_copy_(0, cells, data)
        self.loss[step].index_copy_(0, cells, loss)
        self.grad[step].index_copy_(0, cells, grad)

    def finish(self, frames: Tensor) -> None:
        """Blank what was recorded after each cell's last frame (parked cells' rows)."""
        after = torch.arange(self.loss.shape[0]).unsqueeze(1) >= frames.unsqueeze(0)
        self.loss.masked_fill_(after, math.nan)
        self.points.masked_fill_(after.unsqueeze(2), math.nan)
        self.grad.masked_fill_(after.unsqueeze(2), math.nan)


class _Descent:
    """All cells' runs, stepped together, with the engine's stops applied per cell.

    The checks cost a few whole-batch reductions per step: cells are examined one by one
    only when a reduction says that some cell may have diverged or converged. A stopped cell
    stays in the batch, parked, until enough have stopped to make dropping them worth a
    rebuild of the batch (`_compact`).
    """

    def __init__(
        self,
        config: RunConfig,
        param: Tensor,
        optimizer: CellOptimizer,
        tick: Callable[[int], None],
        trace: Recorder | None = None,
    ) -> None:
        self.config, self.optimizer, self.tick, self.trace = config, optimizer, tick, trace
        n = param.shape[0]
        self.ends = Ends(
            points=torch.zeros(n, 2, dtype=F64),
            loss=torch.zeros(n, dtype=F64),
            status=torch.zeros(n, dtype=torch.int8),
            stopped_at=torch.full((n,), config.steps, dtype=torch.int64),
            frames=torch.full((n,), config.steps + 1, dtype=torch.int64),
        )
        self.active = n
        self.compactable = True
        self.bounds = config.bounds()
        (xlo, xhi), (ylo, yhi) = self.bounds
        self.box = (max(xlo, ylo), min(xhi, yhi))  # inside both axes' bounds
        self.tol = config.tolerance
        # A float32 difference may round up past tol: the screen lets such cells through.
        self.screen = config.tolerance * (1 + 1e-6)
        self._batch(param, torch.arange(n), param.detach().clone())

    def _batch(self, param: Tensor, cells: Tensor, starts: Tensor) -> None:
        """Work on leaf `param`, whose rows are the cells `cells` (all running)."""
        self.param, self.cells, self.starts = param, cells, starts
        self.data = param.detach()
        self.prev = self.data.clone()
        m, dtype = len(cells), self.data.dtype
        self.running = torch.ones(m, dtype=torch.bool)
        self.penalty = torch.zeros(m, dtype=dtype)  # +inf hides parked rows from the screen
        self.worst = torch.empty(m, 2, dtype=dtype)
        self.frozen = torch.zeros(m, 2, dtype=torch.bool)
        self.parked = 0

    def run(self) -> Ends:
        fn = self.config.surface.fn
        for step in range(self.config.steps + 1):
            self.tick(step)
            self.param.grad = None
            loss = fn(self.param)
            loss.sum().backward()  # rows are independent: each row's own gradient
            grad = self.param.grad
            assert grad is not None
            loss = loss.detach()
            if self.trace is not None:
                self.trace.record(step, self.cells, self.data, loss, grad)
            if not self._all_healthy(loss, grad):
                self._stop_diverged(step, loss, grad)
            if step > 0:
                self._stop_converged(step, loss, grad)
            if step == self.config.steps:
                self._record(self.running.nonzero().squeeze(1), loss)
            if step == self.config.steps or self.active == 0:
                if self.trace is not None:
                    self.trace.finish(self.ends.frames)
                return self.ends
            if self.parked >= max(COMPACT_AT, len(self.cells) // 4) and self.compactable:
                self._compact()
            self.prev.copy_(self.data)
            self.optimizer.step()
            if self.parked:
                torch.where(self.frozen, self.prev, self.data, out=self.data)
        raise AssertionError("unreachable: the last step returns")

    def _all_healthy(self, loss: Tensor, grad: Tensor) -> bool:
        """No value anywhere is non-finite and every point is inside the bounds."""
        lowest, highest = torch.aminmax(self.data)
        if not (self.box[0] <= lowest.item() and highest.item() <= self.box[1]):
            return False
        sums = [loss.sum(), grad.sum(), *(s.sum() for s in self.optimizer.state())]
        # A sum is finite if all its terms are (a finite overflow only costs a closer look).
        return all(math.isfinite(s.item()) for s in sums)

    def _stop_diverged(self, step: int, loss: Tensor, grad: Tensor) -> None:
        (xlo, xhi), (ylo, yhi) = self.bounds
        x, y = self.data[:, 0].to(F64), self.data[:, 1].to(F64)
        ok = (xlo <= x) & (x <= xhi) & (ylo <= y) & (y <= yhi)
        ok &= torch.isfinite(loss) & torch.isfinite(grad).all(dim=1)
        for state in self.optimizer.state():
            if state.dim() == 0:
                ok &= bool(torch.isfinite(state))
            else:
                ok &= torch.isfinite(state.reshape(len(ok), -1)).all(dim=1)
        rows = (self.running & ~ok).nonzero().squeeze(1)
        self._stop(rows, DIVERGED, step, loss)
        if rows.numel():
            self._count_last_frame(rows, step, loss, grad)
        self.data[rows] = self.starts[rows]
        self.optimizer.sanitize()

    def _count_last_frame(self, rows: Tensor, step: int, loss: Tensor, grad: Tensor) -> None:
        """A diverged run yields its last frame if it only left the bound, not if a value in
        it is non-finite (see the engine)."""
        finite = torch.isfinite(self.data[rows]).all(dim=1) & torch.isfinite(loss[rows])
        finite &= torch.isfinite(grad[rows]).all(dim=1)
        for state in self.optimizer.state():
            if state.dim() == 0:
                finite &= bool(torch.isfinite(state))
            else:
                finite &= torch.isfinite(state[rows].reshape(len(rows), -1)).all(dim=1)
        self.ends.frames[self.cells[rows]] = torch.where(finite, step + 1, step)

    def _stop_converged(self, step: int, loss: Tensor, grad: Tensor) -> None:
        """Stop cells whose gradient norm and last step are both within tolerance.

        Such a cell has every |step| and |gradient| component within tolerance: a few
        batch-wide operations find the steps where some cell might.
        """
        worst = torch.sub(self.data, self.prev, out=self.worst).abs_()
        torch.maximum(worst, grad.abs(), out=worst)
        # the larger of each row's two entries (max_pool1d: faster than strided columns)
        worst = F.max_pool1d(worst.view(1, 1, -1), 2).view(-1).add_(self.penalty)
        if worst.min().item() > self.screen:
            return
        rows = (worst <= self.screen).nonzero().squeeze(1)
        # complex abs is the same hypot as the engine's math.hypot, to the last bit
        g = torch.view_as_complex(grad[rows].to(F64)).abs()
        d = torch.view_as_complex(self.data[rows].to(F64) - self.prev[rows].to(F64)).abs()
        self._stop(rows[(g <= self.tol) & (d <= self.tol)], CONVERGED, step, loss)

    def _stop(self, rows: Tensor, status: int, step: int, loss: Tensor) -> None:
        if rows.numel() == 0:
            return
        self._record(rows, loss)
        cells = self.cells[rows]
        self.ends.status[cells] = status
        self.ends.stopped_at[cells] = step
        self.ends.frames[cells] = step + 1
        self.penalty[rows] = math.inf
        self.running[rows] = False
        self.frozen[rows] = True
        self.parked += rows.numel()
        self.active -= rows.numel()

    def _record(self, rows: Tensor, loss: Tensor) -> None:
        cells = self.cells[rows]
        self.ends.points[cells] = self.data[rows].to(F64)
        self.ends.loss[cells] = loss[rows].to(F64)

    def _compact(self) -> None:
        """Drop the parked rows: a new leaf, and the optimizer's state for the rest."""
        keep = self.running.nonzero().squeeze(1)
        param = self.data[keep].clone().requires_grad_()
        assert self.param.grad is not None
        param.grad = self.param.grad[keep]  # this step's gradient, not yet used
        if not self.optimizer.compact(keep, param):
            self.compactable = False
            return
        self._batch(param, self.cells[keep], self.starts[keep])
