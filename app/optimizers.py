"""The optimizer registry, derived from the torch.optim classes themselves.

Names, kinds and defaults of the hyperparameters come from each class's signature and the
descriptions from its docstring, so they follow the installed torch. What torch cannot say
(the range a slider should cover, which parameters live on a log scale) is the table
`RANGES` below.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim import Optimizer

from .errors import InvalidInput
from .hyperparameters import Hyperparameter, Range, derive, summary

# Framework switches choose an implementation, not the algorithm: not user hyperparameters.
FRAMEWORK_SWITCHES = frozenset({"foreach", "fused", "capturable", "differentiable"})
# Muon's Newton-Schulz coefficients are a 3-tuple of numerical constants; torch's are used.
FIXED = frozenset({"ns_coefficients"})
# SparseAdam needs sparse gradients, which a dense 2-vector never has.
EXCLUDED_OPTIMIZERS = frozenset({"SparseAdam"})
# Choices torch documents for its string arguments (None means torch's default behaviour).
CHOICES: dict[str, tuple[str | None, ...]] = {
    "line_search_fn": (None, "strong_wolfe"),
    "adjust_lr_fn": (None, "original", "match_rms_adamw"),
}
# Shape of the parameter an optimizer drives. Muon orthogonalizes matrix updates only.
PARAM_SHAPES: dict[str, tuple[int, ...]] = {"Muon": (1, 2)}


RANGES: dict[str, Range] = {
    "lr": Range(0.0, 1e6, log=True, slider_lo=1e-5, slider_hi=10.0),
    "eps": Range(0.0, 1.0, log=True, slider_lo=1e-12, slider_hi=1e-1),
    "momentum": Range(0.0, 1.0, slider_hi=0.999),
    "dampening": Range(0.0, 1.0),
    "weight_decay": Range(0.0, 10.0, slider_hi=1.0),
    "alpha": Range(0.0, 1.0),
    "rho": Range(0.0, 1.0),
    "betas": Range(0.0, 1.0, slider_hi=0.9999),
    "lr_decay": Range(0.0, 1.0, slider_hi=0.1),
    "initial_accumulator_value": Range(0.0, 100.0, slider_hi=10.0),
    "lambd": Range(0.0, 1.0, log=True, slider_lo=1e-8, slider_hi=1e-1),
    "t0": Range(0.0, 1e9, log=True, slider_lo=1.0, slider_hi=1e7),
    "momentum_decay": Range(0.0, 1.0, slider_hi=0.05),
    "etas": Range(0.0, 10.0, slider_hi=3.0),
    "step_sizes": Range(0.0, 1e6, log=True, slider_lo=1e-8, slider_hi=1e3),
    "beta2_decay": Range(-1.0, 0.0),
    "d": Range(1.0, 100.0, slider_hi=10.0),
    "ns_steps": Range(1, 20),
    "max_iter": Range(1, 100),
    "max_eval": Range(1, 200),
    "history_size": Range(1, 200),
    "tolerance_grad": Range(0.0, 1.0, log=True, slider_lo=1e-12, slider_hi=1e-2),
    "tolerance_change": Range(0.0, 1.0, log=True, slider_lo=1e-14, slider_hi=1e-3),
}
# The same keyword can mean different things in different classes.
RANGE_OVERRIDES: dict[tuple[str, str], Range] = {
    ("ASGD", "alpha"): Range(0.0, 2.0),
}


class UnknownOptimizer(InvalidInput):
    def __init__(self, name: str) -> None:
        choices = ", ".join(OPTIMIZERS)
        super().__init__(("optimizer",), f"Unknown optimizer {name!r}; choose one of: {choices}")


class HyperparameterError(InvalidInput):
    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(("hyperparameters", *loc), message)


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    cls: type[Optimizer]
    description: str
    hyperparameters: tuple[Hyperparameter, ...]
    param_shape: tuple[int, ...] = (2,)

    @property
    def title(self) -> str:
        return self.name

    @property
    def needs_closure(self) -> bool:
        """LBFGS re-evaluates the loss inside step(), so it is given a closure."""
        return self.cls is torch.optim.LBFGS

    def hyperparameter(self, name: str) -> Hyperparameter:
        for hp in self.hyperparameters:
            if hp.name == name:
                return hp
        known = ", ".join(hp.name for hp in self.hyperparameters)
        raise HyperparameterError((name,), f"{self.name} takes no {name!r}; it takes: {known}")

    def coerce(self, values: Mapping[str, object]) -> dict[str, Any]:
        """Validate user hyperparameters; omitted ones keep torch's defaults."""
        return {
            name: self.hyperparameter(name).coerce(v, HyperparameterError)
            for name, v in values.items()
        }

    def create(
        self, params: Iterable[torch.Tensor], hyperparameters: Mapping[str, Any]
    ) -> Optimizer:
        return self.cls(params, **hyperparameters)


def derive_spec(cls: type[Optimizer]) -> OptimizerSpec:
    ranges = RANGES | {
        name: span for (owner, name), span in RANGE_OVERRIDES.items() if owner == cls.__name__
    }
    return OptimizerSpec(
        name=cls.__name__,
        cls=cls,
        description=summary(cls),
        hyperparameters=derive(cls, ranges, skip=FRAMEWORK_SWITCHES | FIXED, choices=CHOICES),
        param_shape=PARAM_SHAPES.get(cls.__name__, (2,)),
    )


def _optimizer_classes() -> list[type[Optimizer]]:
    found = [
        obj
        for name, obj in vars(torch.optim).items()
        if inspect.isclass(obj)
        and issubclass(obj, Optimizer)
        and obj is not Optimizer
        and name not in EXCLUDED_OPTIMIZERS
    ]
    # The everyday ones first, the rest alphabetically: the order of the page's menu.
    first = {name: i for i, name in enumerate(["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])}
    return sorted(found, key=lambda c: (first.get(c.__name__, len(first)), c.__name__))


OPTIMIZERS: dict[str, OptimizerSpec] = {
    cls.__name__: derive_spec(cls) for cls in _optimizer_classes()
}


def get_optimizer(name: str) -> OptimizerSpec:
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise UnknownOptimizer(name) from None


TORCH_ERRORS = (ValueError, RuntimeError, TypeError, IndexError, ZeroDivisionError)
"""What torch raises for a value it refuses (at construction or in step())."""


def blame_hyperparameters(
    attempt: Callable[[Mapping[str, Any]], object], hyperparameters: Mapping[str, Any]
) -> None:
    """Run `attempt(hyperparameters)`; when torch refuses, retry with one value at a time and
    raise a HyperparameterError naming the value to blame (or all of them together)."""
    try:
        attempt(hyperparameters)
    except TORCH_ERRORS as error:
        for name, value in hyperparameters.items():
            try:
                attempt({name: value})
            except TORCH_ERRORS as alone:
                raise HyperparameterError((name,), f"torch rejects {name}: {alone}") from None
        raise HyperparameterError((), f"torch rejects these hyperparameters: {error}") from None
