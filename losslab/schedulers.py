"""The lr scheduler registry, derived from torch.optim.lr_scheduler like the optimizers.

Every scheduler that needs no Python callable from the user. Arguments torch requires
without a default are either given one here (`REQUIRED_DEFAULTS`) or, when null, derived
from the run (`auto_value`): T_max and total_steps are the run's steps, for instance.
`scheduler.step()` is called once after every optimizer step (ReduceLROnPlateau gets the
loss of the point the step started from). Any scheduler but ReduceLROnPlateau can follow a
linear warmup (SequentialLR of LinearLR and it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch.optim import Optimizer, lr_scheduler

from .errors import InvalidInput
from .hyperparameters import Hyperparameter, Range, derive, summary

NAMES = [
    "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
    "CyclicLR", "OneCycleLR", "LinearLR", "ConstantLR", "PolynomialLR", "ReduceLROnPlateau",
]  # fmt: skip
# Arguments that are not hyperparameters: bookkeeping, callables, and OneCycleLR's
# epochs/steps_per_epoch (total_steps says the same for a run that has no epochs).
SKIP = frozenset({"last_epoch", "verbose", "scale_fn", "epochs", "steps_per_epoch"})
STEPS = 1_000_000
RANGES: dict[str, Range] = {
    "step_size": Range(1, STEPS),
    "milestones": Range(1, STEPS),
    "gamma": Range(0.0, 2.0, slider_lo=0.5, slider_hi=1.0),
    "T_max": Range(1, STEPS),
    "eta_min": Range(0.0, 1e6, slider_hi=0.1),
    "T_0": Range(1, STEPS),
    "T_mult": Range(1, 10),
    "base_lr": Range(0.0, 1e6, log=True, slider_lo=1e-5, slider_hi=10.0),
    "max_lr": Range(0.0, 1e6, log=True, slider_lo=1e-5, slider_hi=10.0),
    "step_size_up": Range(1, STEPS),
    "step_size_down": Range(1, STEPS),
    "base_momentum": Range(0.0, 1.0),
    "max_momentum": Range(0.0, 1.0),
    "total_steps": Range(1, STEPS),
    "pct_start": Range(0.0, 1.0),
    "div_factor": Range(1.0, 1e6, log=True, slider_hi=1e4),
    "final_div_factor": Range(1.0, 1e9, log=True, slider_hi=1e6),
    "start_factor": Range(0.0, 1.0),
    "end_factor": Range(0.0, 1.0),
    "total_iters": Range(0, STEPS),
    "factor": Range(0.0, 1.0),
    "power": Range(0.0, 10.0),
    "patience": Range(0, STEPS),
    "threshold": Range(0.0, 1.0, log=True, slider_lo=1e-8, slider_hi=1e-1),
    "cooldown": Range(0, STEPS),
    "min_lr": Range(0.0, 1e6, slider_hi=0.01),
    "eps": Range(0.0, 1.0, log=True, slider_lo=1e-12, slider_hi=1e-1),
}
# Required by torch with no default: a fixed default, or None for "derived from the run".
REQUIRED_DEFAULTS: dict[str, Any] = {
    "step_size": None,
    "milestones": None,
    "gamma": 0.99,
    "T_max": None,
    "T_0": None,
    "base_lr": None,
    "max_lr": None,
}


def auto_value(name: str, steps: int, lr: float) -> Any:
    """What a null argument becomes for a run of `steps` steps starting at learning rate `lr`."""
    derived: dict[str, Any] = {
        "step_size": max(1, steps // 4),
        "milestones": sorted({max(1, steps // 3), max(2, 2 * steps // 3)}),
        "T_max": steps,
        "T_0": max(1, steps // 4),
        "total_steps": steps,
        "base_lr": lr,
        "max_lr": 10 * lr,
    }
    return derived.get(name)


class SchedulerError(InvalidInput):
    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(("scheduler", *loc), message)


def _param_error(loc: tuple[str | int, ...], message: str) -> InvalidInput:
    return SchedulerError(("params", *loc), message)


@dataclass(frozen=True)
class SchedulerSpec:
    name: str
    cls: type
    description: str
    hyperparameters: tuple[Hyperparameter, ...]

    @property
    def title(self) -> str:
        return self.name

    @property
    def needs_loss(self) -> bool:
        return self.cls is lr_scheduler.ReduceLROnPlateau

    def coerce(self, values: Mapping[str, object]) -> dict[str, Any]:
        known = {hp.name: hp for hp in self.hyperparameters}
        coerced = {}
        for name, value in values.items():
            if name not in known:
                raise _param_error(
                    (name,), f"{self.name} takes no {name!r}; it takes: {', '.join(known)}"
                )
            coerced[name] = known[name].coerce(value, _param_error)
        return coerced

    def resolved(self, params: Mapping[str, Any], steps: int, lr: float) -> dict[str, Any]:
        """Every argument for torch: the user's, else torch's default, else derived from the run."""
        out = {}
        for hp in self.hyperparameters:
            value = params.get(hp.name, hp.default)
            if value is None:
                value = auto_value(hp.name, steps, lr)
            if value is not None or hp.name in params:
                out[hp.name] = value
        return out


@dataclass(frozen=True)
class Warmup:
    steps: int
    start_factor: float


@dataclass(frozen=True)
class SchedulerConfig:
    spec: SchedulerSpec
    params: Mapping[str, Any]
    warmup: Warmup | None = None

    def create(self, optimizer: Optimizer, steps: int) -> Any:
        lr = float(optimizer.param_groups[0]["lr"])
        kwargs = self.spec.resolved(self.params, steps, lr)
        main = self.spec.cls(optimizer, **kwargs)
        if self.warmup is None:
            return main
        warm = lr_scheduler.LinearLR(
            optimizer,
            start_factor=self.warmup.start_factor,
            end_factor=1.0,
            total_iters=self.warmup.steps,
        )
        return lr_scheduler.SequentialLR(optimizer, [warm, main], milestones=[self.warmup.steps])


def derive_spec(cls: type) -> SchedulerSpec:
    return SchedulerSpec(
        name=cls.__name__,
        cls=cls,
        description=summary(cls),
        hyperparameters=derive(cls, RANGES, skip=SKIP, required_defaults=REQUIRED_DEFAULTS),
    )


SCHEDULERS: dict[str, SchedulerSpec] = {
    name: derive_spec(getattr(lr_scheduler, name)) for name in NAMES
}


def make_scheduler(name: object, params: object, warmup: object, steps: int) -> SchedulerConfig:
    """Validate a scheduler request for a run of `steps` steps."""
    if not isinstance(name, str) or name not in SCHEDULERS:
        raise SchedulerError(
            ("name",), f"Unknown scheduler {name!r}; choose one of: {', '.join(SCHEDULERS)}"
        )
    spec = SCHEDULERS[name]
    if not isinstance(params, Mapping):
        raise SchedulerError(("params",), "params must be an object")
    coerced = spec.coerce(params)
    total = coerced.get("total_steps")
    if total is not None and total < steps:
        raise _param_error(
            ("total_steps",), f"total_steps must be at least the run's {steps} steps"
        )
    if warmup is None:
        return SchedulerConfig(spec, coerced)
    if spec.needs_loss:
        raise SchedulerError(("warmup",), "ReduceLROnPlateau cannot follow a warmup (SequentialLR)")
    if not isinstance(warmup, Mapping):
        raise SchedulerError(("warmup",), "warmup must be an object {steps, start_factor}")
    warm_steps = warmup.get("steps")
    factor = warmup.get("start_factor", 0.1)
    if (
        isinstance(warm_steps, bool)
        or not isinstance(warm_steps, int)
        or not 1 <= warm_steps <= steps
    ):
        raise SchedulerError(
            ("warmup", "steps"), f"warmup steps must be a whole number in 1..{steps}"
        )
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 < factor <= 1:
        raise SchedulerError(("warmup", "start_factor"), "start_factor must be in (0, 1]")
    return SchedulerConfig(spec, coerced, Warmup(warm_steps, float(factor)))
