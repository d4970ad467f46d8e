"""The optimizer registry, derived from the torch.optim classes themselves.

Names, kinds and defaults of the hyperparameters come from each class's signature and the
descriptions from its docstring, so they follow the installed torch. What torch cannot say
(the range a slider should cover, which parameters live on a log scale) is the table
`RANGES` below.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch.optim import Optimizer

from app.errors import InvalidInput

HyperparameterType = Literal["float", "int", "bool", "pair", "choice"]

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


@dataclass(frozen=True)
class Range:
    """Accepted values [lo, hi] and the slider span [slider_lo, slider_hi] of a number."""

    lo: float
    hi: float
    log: bool = False
    slider_lo: float | None = None
    slider_hi: float | None = None


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
class Hyperparameter:
    name: str
    type: HyperparameterType
    default: Any
    description: str = ""
    min: float | None = None
    max: float | None = None
    log: bool = False
    slider_min: float | None = None
    slider_max: float | None = None
    nullable: bool = False
    choices: tuple[Any, ...] | None = None

    def coerce(self, value: object) -> Any:
        """The value torch should receive, or HyperparameterError naming this field."""
        if value is None:
            if self.nullable:
                return None
            raise HyperparameterError((self.name,), f"{self.name} may not be null")
        if self.type == "bool":
            if not isinstance(value, bool):
                raise HyperparameterError((self.name,), f"{self.name} must be true or false")
            return value
        if self.type == "choice":
            assert self.choices is not None
            if value not in self.choices:
                raise HyperparameterError(
                    (self.name,), f"{self.name} must be one of {list(self.choices)}"
                )
            return value
        if self.type == "pair":
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise HyperparameterError((self.name,), f"{self.name} must be a list of 2 numbers")
            return tuple(self._pair_element(i, v) for i, v in enumerate(value))
        return self._number(value, (self.name,))

    def _pair_element(self, index: int, value: object) -> float | None:
        if value is None and self.default[index] is None:
            return None
        return self._number(value, (self.name, index))

    def _number(self, value: object, loc: tuple[str | int, ...]) -> float | int:
        label = ".".join(str(part) for part in loc)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise HyperparameterError(loc, f"{label} must be a number")
        if not math.isfinite(value):
            raise HyperparameterError(loc, f"{label} must be finite")
        if self.type == "int":
            if not float(value).is_integer():
                raise HyperparameterError(loc, f"{label} must be a whole number")
            value = int(value)
        assert self.min is not None and self.max is not None
        if not self.min <= value <= self.max:
            raise HyperparameterError(loc, f"{label} must be between {self.min:g} and {self.max:g}")
        return value if self.type == "int" else float(value)


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
        return {name: self.hyperparameter(name).coerce(v) for name, v in values.items()}

    def create(
        self, params: Iterable[torch.Tensor], hyperparameters: Mapping[str, Any]
    ) -> Optimizer:
        return self.cls(params, **hyperparameters)


def _docstring_args(cls: type) -> dict[str, str]:
    """Per-argument descriptions from a torch docstring's Args section, defaults stripped."""
    doc = inspect.getdoc(cls) or ""
    _, _, args = doc.partition("Args:")
    found: dict[str, str] = {}
    entries = re.finditer(
        r"^ {4}(\w+) \([^)]*\)\s*:\s*(.*?)(?=^ {4}\w+ \(|^\S|\Z)", args, re.M | re.S
    )
    for match in entries:
        text = re.sub(
            r"\s*\(default:[^()]*(\([^)]*\))?[^()]*\)", "", " ".join(match.group(2).split())
        )
        text = re.sub(r"``?([^`]+)`(`|_)?", r"\1", text)  # reStructuredText markup
        # Notes on tensor-valued lr and on later sections of the docstring do not apply here.
        sentences = [
            s for s in re.split(r"(?<=[.!])\s+", text) if not re.search(r"ensor|float LR|below", s)
        ]
        found[match.group(1)] = " ".join(sentences[:2]).strip()
    return found


def _kind(annotation: str, default: object) -> HyperparameterType:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, tuple):
        return "pair"
    if "str" in annotation:
        return "choice"
    if "int" in annotation and "float" not in annotation:
        return "int"
    return "float"


def _hyperparameter(
    optimizer: str, param: inspect.Parameter, docs: dict[str, str]
) -> Hyperparameter:
    annotation = param.annotation if isinstance(param.annotation, str) else str(param.annotation)
    default = param.default
    kind = _kind(annotation, default)
    common: dict[str, Any] = {"description": docs.get(param.name, "")}
    if kind == "pair" and len(default) != 2:
        raise TypeError(f"{optimizer}.{param.name}: only pairs are supported, got {default!r}")
    if kind == "pair":
        default = [None if v is None else float(v) for v in default]
    elif kind == "float":
        default = None if default is None else float(default)
    if kind == "choice":
        return Hyperparameter(
            param.name,
            kind,
            default,
            choices=CHOICES[param.name],
            nullable=None in CHOICES[param.name],
            **common,
        )
    if kind == "bool":
        return Hyperparameter(param.name, kind, default, **common)
    span = RANGE_OVERRIDES.get((optimizer, param.name)) or RANGES[param.name]
    return Hyperparameter(
        param.name,
        kind,
        default,
        min=span.lo,
        max=span.hi,
        log=span.log,
        slider_min=span.lo if span.slider_lo is None else span.slider_lo,
        slider_max=span.hi if span.slider_hi is None else span.slider_hi,
        nullable=default is None,
        **common,
    )


def derive_spec(cls: type[Optimizer]) -> OptimizerSpec:
    docs = _docstring_args(cls)
    params = list(inspect.signature(cls.__init__).parameters.values())[2:]  # self, params
    hyperparameters = tuple(
        _hyperparameter(cls.__name__, p, docs)
        for p in params
        if p.name not in FRAMEWORK_SWITCHES | FIXED
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )
    summary = (inspect.getdoc(cls) or cls.__name__).split("\n\n")[0]
    return OptimizerSpec(
        name=cls.__name__,
        cls=cls,
        description=" ".join(summary.split()),
        hyperparameters=hyperparameters,
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
