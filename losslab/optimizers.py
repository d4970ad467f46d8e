"""The optimizer registry, derived from the classes of torch.optim and pytorch_optimizer.

Names, kinds and defaults of the hyperparameters come from each class's signature and the
descriptions from its docstring, so they follow the installed libraries. What the classes
cannot say (families, slider ranges, what some classes need) is in optimizer_catalog.py.

Names are the classes' own; a torch.optim name always means torch's class, so the three
pytorch_optimizer classes whose names torch also uses are registered as
`pytorch_optimizer.ASGD`, `pytorch_optimizer.Muon` and `pytorch_optimizer.RAdam`.

Wrappers (the sharpness-aware SAM family, Lookahead, OrthoGrad, TRAC, ScheduleFreeWrapper)
take `base_optimizer`, a registry name, and the base's settings flat beside their own, as
their classes take them: `{"base_optimizer": "SGD", "rho": 0.05, "lr": 0.1}`. A name both
take (Lookahead's and RMSprop's `alpha`) is the wrapper's.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pytorch_optimizer
import torch
from pytorch_optimizer.base import exception as zoo_exceptions
from torch.optim import Optimizer

from . import optimizer_catalog as catalog
from .errors import InvalidInput
from .hyperparameters import Hyperparameter, derive, summary

# Muon's Newton-Schulz coefficients are a 3-tuple of numerical constants; torch's are used.
FIXED = frozenset({"ns_coefficients"})
FRAMEWORK_SWITCHES = catalog.FRAMEWORK_SWITCHES
BASE_OPTIMIZER = "base_optimizer"
ZOO_PREFIX = "pytorch_optimizer."


class UnknownOptimizer(InvalidInput):
    def __init__(self, name: str) -> None:
        if name in EXCLUDED:
            message = f"{name} cannot run here: it {EXCLUDED[name]['reason']}"
        else:
            message = f"Unknown optimizer {name!r}; GET /api/optimizers lists them"
        super().__init__(("optimizer",), message)


class HyperparameterError(InvalidInput):
    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(("hyperparameters", *loc), message)


class _ModelOf(torch.nn.Module):
    """The model a model-taking class (WSAM, AdamMini) is given: it holds the run's point."""

    def __init__(self, params: list[torch.Tensor]) -> None:
        super().__init__()
        self._held = params

    def named_parameters(  # type: ignore[override]
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, torch.Tensor]]:
        for i, param in enumerate(self._held):
            yield f"{prefix}point{i}", param

    def parameters(self, recurse: bool = True) -> Iterator[torch.Tensor]:  # type: ignore[override]
        yield from self._held


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    cls: type[Optimizer]
    description: str
    hyperparameters: tuple[Hyperparameter, ...]
    param_shape: tuple[int, ...] = (2,)
    source: catalog.Source = "torch.optim"
    family: catalog.Family = "first_order"
    reference: dict[str, str] | None = None
    fixed: tuple[str, ...] = ()
    """Signature arguments that keep the library's default (no JSON form, or framework
    switches)."""
    group_options: Mapping[str, Any] = field(default_factory=dict)
    takes_model: bool = False
    wraps: str | None = None
    """"class" when the wrapper builds its base from a class (SAM family), "instance" when
    it wraps a built optimizer (Lookahead...), None for a plain optimizer."""
    required: Mapping[str, Any] = field(default_factory=dict)
    """Required constructor arguments and the values given when a request omits them."""
    null_is_default: frozenset[str] = frozenset()
    """Settings whose library default is infinite (no limit): null asks for it."""

    @property
    def title(self) -> str:
        return self.name

    @property
    def needs_closure(self) -> bool:
        """step() takes a closure that re-evaluates the loss (LBFGS, AliG, the SAM family)."""
        return self.family in ("closure", "sharpness")

    @property
    def qualified_class(self) -> str:
        """The class as a script names it (script.py imports pytorch_optimizer's by name)."""
        if self.source == "torch.optim":
            return f"torch.optim.{self.cls.__name__}"
        return self.cls.__name__

    def base_of(self, values: Mapping[str, Any]) -> OptimizerSpec | None:
        """The base optimizer a wrapper's coerced `values` choose (None for a plain one)."""
        if self.wraps is None:
            return None
        return OPTIMIZERS[values.get(BASE_OPTIMIZER) or self._default_base()]

    def _default_base(self) -> str:
        return str(self.hyperparameter(BASE_OPTIMIZER).default)

    def _own(self, name: str) -> Hyperparameter | None:
        return next((hp for hp in self.hyperparameters if hp.name == name), None)

    def hyperparameter(self, name: str, base: OptimizerSpec | None = None) -> Hyperparameter:
        """The setting `name`: the optimizer's own, else (for a wrapper) its base's."""
        found = self._own(name)
        if found is None and base is not None:
            found = base._own(name)
        if found is not None:
            return found
        known = ", ".join(hp.name for hp in self.hyperparameters)
        if base is not None:
            known += f"; and its base {base.name}'s: " + ", ".join(
                hp.name for hp in base.hyperparameters
            )
        raise HyperparameterError((name,), f"{self.name} takes no {name!r}; it takes: {known}")

    def coerce(self, values: Mapping[str, object]) -> dict[str, Any]:
        """Validate user hyperparameters; omitted ones keep the library's defaults."""
        base = None
        if self.wraps is not None:
            choice = values.get(BASE_OPTIMIZER, self._default_base())
            base_name = self.hyperparameter(BASE_OPTIMIZER).coerce(choice, HyperparameterError)
            base = OPTIMIZERS[base_name]
        return {
            name: self.hyperparameter(name, base).coerce(v, HyperparameterError)
            for name, v in values.items()
        }

    def split(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A wrapper's coerced values as (its own, its base's); `base_optimizer` in neither."""
        own: dict[str, Any] = {}
        rest: dict[str, Any] = {}
        for name, value in values.items():
            if name == BASE_OPTIMIZER:
                continue
            (own if self._own(name) is not None else rest)[name] = value
        return own, rest

    def create(
        self, params: Iterable[torch.Tensor], hyperparameters: Mapping[str, Any]
    ) -> Optimizer:
        params = list(params)
        hyperparameters = self._given(hyperparameters)
        base = self.base_of(hyperparameters)
        # Wrappers and model-taking classes have signatures of their own.
        make = cast(Callable[..., Optimizer], self.cls)
        if base is not None:
            own, rest = self.split(hyperparameters)
            if self.wraps == "instance":
                return make(base.create(params, rest), **own)
            args: tuple[Any, ...] = (params, base.cls)
            if self.takes_model:
                args = (_ModelOf(params), *args)
            return make(*args, **own, **rest)
        groups: Any = [{"params": params, **self.group_options}] if self.group_options else params
        if self.takes_model:
            return make(_ModelOf(params), **hyperparameters)
        return make(groups, **hyperparameters)

    def create_per_group(self, groups: list[dict[str, Any]]) -> Optimizer:
        """A plain optimizer over parameter groups that each carry their own settings."""
        assert self.wraps is None and not self.group_options and not self.takes_model
        make = cast(Callable[..., Optimizer], self.cls)
        return make([self._given(group) for group in groups], **self.required)

    def _given(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` with the required arguments filled in and without the nulls that ask for
        an infinite library default."""
        given = dict(self.required) | dict(values)
        return {k: v for k, v in given.items() if not (v is None and k in self.null_is_default)}

    def describe_call(self, hyperparameters: Mapping[str, Any], params: str = "[param]") -> str:
        """The constructor call a script writes, with `param` the run's tensor; `params` is
        the source of a plain optimizer's first argument (a list of parameter groups)."""
        hyperparameters = self._given(hyperparameters)
        base = self.base_of(hyperparameters)
        own, rest = self.split(hyperparameters) if base is not None else (hyperparameters, {})
        kwargs = ", ".join(f"{k}={v!r}" for k, v in own.items())
        if base is not None and self.wraps == "instance":
            inner = base.describe_call(rest)
            return f"{self.qualified_class}({inner}{', ' if kwargs else ''}{kwargs})"
        extra = ", ".join(f"{k}={v!r}" for k, v in rest.items())
        head = params
        if self.group_options:
            options = ", ".join(f"{k!r}: {v!r}" for k, v in self.group_options.items())
            head = f'[{{"params": [param], {options}}}]'
        if self.takes_model:
            head = "model_of(param)" + (", [param]" if base is not None else "")
        if base is not None:
            head += f", {base.qualified_class}"
        tail = ", ".join(part for part in (kwargs, extra) if part)
        return f"{self.qualified_class}({head}{', ' if tail else ''}{tail})"


def _family(name: str, wraps: str | None) -> catalog.Family:
    if name in catalog.SCHEDULE_FREE_CLASSES:
        return "schedule_free"
    if name in catalog.SHARPNESS_CLASSES:
        return "sharpness"
    if wraps is not None:
        return "wrapper"
    if name in catalog.HESSIAN_CLASSES:
        return "hessian"
    if name in catalog.CLOSURE_CLASSES:
        return "closure"
    return "first_order"


def _wraps(cls: type[Optimizer]) -> str | None:
    """ "class" for a wrapper that builds its base (SAM), "instance" for one that wraps a
    built optimizer (Lookahead), None for a plain optimizer."""
    names = inspect.signature(cls).parameters
    return "class" if BASE_OPTIMIZER in names else "instance" if "optimizer" in names else None


def derive_spec(
    cls: type[Optimizer],
    source: catalog.Source,
    *,
    name: str | None = None,
    bases: tuple[str, ...] = (),
) -> OptimizerSpec:
    """The spec of `cls`; a wrapper's `base_optimizer` setting chooses among `bases`."""
    class_name = cls.__name__
    params = list(inspect.signature(cls).parameters.values())
    wraps = _wraps(cls)
    ranges = catalog.RANGES | {
        key: span for (owner, key), span in catalog.RANGE_OVERRIDES.items() if owner == class_name
    }
    fixed = [
        p.name
        for p in params
        if p.name not in catalog.STRUCTURAL
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        and (p.name in FRAMEWORK_SWITCHES or p.name in FIXED or catalog.unsettable(p))
    ]
    hyperparameters = derive(
        cls,
        ranges,
        skip=catalog.STRUCTURAL | FRAMEWORK_SWITCHES | FIXED | set(fixed),
        choices=catalog.CHOICES,
        required_defaults=catalog.REQUIRED_DEFAULTS.get(class_name, {}),
        first=0,
        infer=catalog.inferred_range,
    )
    null_is_default = frozenset(
        p.name
        for p in params
        if isinstance(p.default, float)
        and not isinstance(p.default, bool)
        and not math.isfinite(p.default)
    )
    if wraps is not None:
        default_base = catalog.WRAPPER_DEFAULT_BASE.get(class_name, "SGD")
        choice = Hyperparameter(
            BASE_OPTIMIZER,
            "choice",
            default_base,
            "The optimizer this wrapper steps with: any plain first-order optimizer's name; "
            "its settings sit beside this one's.",
            choices=bases,
        )
        hyperparameters = (choice, *hyperparameters)
    reference = (
        catalog.torch_reference(cls)
        if source == "torch.optim"
        else catalog.zoo_reference(class_name)
    )
    shape = (1, 2) if class_name in catalog.MATRIX_CLASSES else (2,)
    return OptimizerSpec(
        name=name or class_name,
        cls=cls,
        description=summary(cls),
        hyperparameters=hyperparameters,
        param_shape=shape,
        source=source,
        family=_family(class_name, wraps),
        reference=reference,
        fixed=tuple(fixed),
        group_options=catalog.GROUP_OPTIONS.get(class_name, {}) if source != "torch.optim" else {},
        takes_model=class_name in catalog.TAKES_MODEL,
        wraps=wraps,
        required=catalog.REQUIRED_DEFAULTS.get(class_name, {}),
        null_is_default=null_is_default,
    )


def _torch_classes() -> list[type[Optimizer]]:
    return [
        obj
        for obj in vars(torch.optim).values()
        if inspect.isclass(obj) and issubclass(obj, Optimizer) and obj is not Optimizer
    ]


def _zoo_classes() -> list[type[Optimizer]]:
    """pytorch_optimizer's own classes: its optimizer list and every other optimizer class
    it exports (the SAM family, Lookahead and the other wrappers)."""
    found = [
        pytorch_optimizer.load_optimizer(n) for n in pytorch_optimizer.get_supported_optimizers()
    ]
    found += [
        obj
        for obj in vars(pytorch_optimizer).values()
        if inspect.isclass(obj) and issubclass(obj, Optimizer)
    ]
    unique = {cls: None for cls in found if not cls.__module__.startswith("torch.")}
    return list(unique)


# The everyday ones first, the rest alphabetically: the order of the page's menu.
_FIRST = {name: i for i, name in enumerate(["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])}


def _order(name: str) -> tuple[int, str]:
    return (_FIRST.get(name, len(_FIRST)), name.removeprefix(ZOO_PREFIX).lower())


def _build() -> tuple[dict[str, OptimizerSpec], dict[str, dict[str, str]]]:
    specs: dict[str, OptimizerSpec] = {}
    excluded: dict[str, dict[str, str]] = {}
    torch_names = {cls.__name__ for cls in _torch_classes()}
    candidates: list[tuple[str, type[Optimizer], catalog.Source]] = [
        (cls.__name__, cls, "torch.optim") for cls in _torch_classes()
    ]
    for cls in _zoo_classes():
        clash = cls.__name__ in torch_names
        candidates.append((ZOO_PREFIX * clash + cls.__name__, cls, "pytorch_optimizer"))
    wrappers = []
    for name, cls, source in candidates:
        if cls.__name__ in catalog.EXCLUDED:
            excluded[name] = {
                "source": source,
                "family": _family(cls.__name__, _wraps(cls)),
                "reason": catalog.EXCLUDED[cls.__name__],
            }
        elif _wraps(cls) is not None:
            wrappers.append((name, cls, source))
        else:
            specs[name] = derive_spec(cls, source, name=name)
    # A base is a plain first-order optimizer that steps any tensor as it is given.
    bases = tuple(
        sorted(
            (
                n
                for n, s in specs.items()
                if s.family == "first_order"
                and not s.group_options
                and not s.takes_model
                and s.param_shape == (2,)
            ),
            key=_order,
        )
    )
    for name, cls, source in wrappers:
        specs[name] = derive_spec(cls, source, name=name, bases=bases)
    ordered = dict(sorted(specs.items(), key=lambda item: _order(item[0])))
    return ordered, dict(sorted(excluded.items()))


OPTIMIZERS, EXCLUDED = _build()
"""Every optimizer that steps a 2-D point, and the classes that cannot, with the reason."""


def get_optimizer(name: str) -> OptimizerSpec:
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise UnknownOptimizer(name) from None


LIBRARY_ERRORS = (
    ValueError,
    RuntimeError,
    TypeError,
    IndexError,
    KeyError,
    ZeroDivisionError,
    NotImplementedError,
    AssertionError,
    zoo_exceptions.NoSparseGradientError,
    zoo_exceptions.ZeroParameterSizeError,
    zoo_exceptions.NoClosureError,
    zoo_exceptions.NegativeLRError,
    zoo_exceptions.NegativeStepError,
)
"""What the libraries raise for a value they refuse (at construction or in step())."""


def blame_hyperparameters(
    attempt: Callable[[Mapping[str, Any]], object], hyperparameters: Mapping[str, Any]
) -> None:
    """Run `attempt(hyperparameters)`; when the library refuses, retry with one value at a time
    and raise a HyperparameterError naming the value to blame (or all of them together).

    A wrapper's `base_optimizer` goes with every retry: the other values are only meaningful
    with their base.
    """
    try:
        attempt(hyperparameters)
    except LIBRARY_ERRORS as error:
        keep = {k: v for k, v in hyperparameters.items() if k == BASE_OPTIMIZER}
        for name, value in hyperparameters.items():
            if name == BASE_OPTIMIZER:
                continue
            try:
                attempt({**keep, name: value})
            except LIBRARY_ERRORS as alone:
                raise HyperparameterError(
                    (name,), f"the optimizer rejects {name}: {alone}"
                ) from None
        raise HyperparameterError((), f"the optimizer rejects these settings: {error}") from None
