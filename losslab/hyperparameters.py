"""Keyword arguments of torch classes as typed, bounded, documented hyperparameters.

Names, kinds and defaults come from a class's signature and descriptions from its docstring;
what torch cannot say (accepted bounds, slider spans, which values live on a log scale) comes
from a table of `Range`s the caller supplies. Optimizers and lr schedulers both use this.
"""

from __future__ import annotations

import inspect
import itertools
import math
import re
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .errors import InvalidInput

HyperparameterType = Literal["float", "int", "bool", "pair", "choice", "int_list"]
ErrorFactory = Callable[[tuple[str | int, ...], str], InvalidInput]
MAX_LIST_LENGTH = 100


@dataclass(frozen=True)
class Range:
    """Accepted values [lo, hi] and the slider span [slider_lo, slider_hi] of a number."""

    lo: float
    hi: float
    log: bool = False
    slider_lo: float | None = None
    slider_hi: float | None = None


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

    def coerce(self, value: object, error: ErrorFactory) -> Any:
        """The value torch should receive; `error(loc, message)` builds what is raised."""
        loc: tuple[str | int, ...] = (self.name,)
        if value is None:
            if self.nullable:
                return None
            raise error(loc, f"{self.name} may not be null")
        if self.type == "bool":
            if not isinstance(value, bool):
                raise error(loc, f"{self.name} must be true or false")
            return value
        if self.type == "choice":
            assert self.choices is not None
            if value not in self.choices:
                raise error(loc, f"{self.name} must be one of {list(self.choices)}")
            return value
        if self.type == "pair":
            size = len(self.default)
            if not isinstance(value, list | tuple) or len(value) != size:
                raise error(loc, f"{self.name} must be a list of {size} numbers")
            return tuple(
                None if v is None and self.default[i] is None else self._number(v, (*loc, i), error)
                for i, v in enumerate(value)
            )
        if self.type == "int_list":
            if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_LIST_LENGTH:
                raise error(loc, f"{self.name} must be a list of 1 to {MAX_LIST_LENGTH} integers")
            numbers = [self._number(v, (*loc, i), error) for i, v in enumerate(value)]
            if any(b <= a for a, b in itertools.pairwise(numbers)):
                raise error(loc, f"{self.name} must be increasing")
            return numbers
        return self._number(value, loc, error)

    def _number(self, value: object, loc: tuple[str | int, ...], error: ErrorFactory) -> Any:
        label = ".".join(str(part) for part in loc)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise error(loc, f"{label} must be a number")
        # An int beyond float's range is as unusable as infinity (and math.isfinite overflows).
        if isinstance(value, int) and abs(value) > sys.float_info.max:
            raise error(loc, f"{label} must be finite")
        if not math.isfinite(value):
            raise error(loc, f"{label} must be finite")
        whole = self.type in ("int", "int_list")
        if whole:
            if not float(value).is_integer():
                raise error(loc, f"{label} must be a whole number")
            value = int(value)
        assert self.min is not None and self.max is not None
        if not self.min <= value <= self.max:
            raise error(loc, f"{label} must be between {self.min:g} and {self.max:g}")
        return value if whole else float(value)


def docstring_args(cls: type) -> dict[str, str]:
    """Per-argument descriptions from a docstring's Args section, defaults stripped.

    Both styles are read: torch's `name (type): text` and pytorch_optimizer's `name: text`.
    """
    doc = inspect.getdoc(cls) or ""
    _, _, args = doc.partition("Args:")
    found: dict[str, str] = {}
    entry = r"^ {4}\**(\w+)(?: \([^)]*\))?\s*:\s"
    entries = re.finditer(entry + r"(.*?)(?=" + entry + r"|^\S|\Z)", args, re.M | re.S)
    for match in entries:
        text = re.sub(
            r"\s*\(default:[^()]*(\([^)]*\))?[^()]*\)", "", " ".join(match.group(2).split())
        )
        text = re.sub(r"(:math:)?``?([^`]+)`(`|_)?", r"\2", text)  # reStructuredText markup
        # Notes on tensor-valued lr and on later sections of the docstring do not apply here.
        sentences = [
            s
            for s in re.split(r"(?<=[.!])\s+", text)
            if not re.search(r"ensor|float LR|below|^Default", s)
        ]
        found[match.group(1)] = " ".join(sentences[:2]).strip()
    return found


def summary(cls: type) -> str:
    """The first paragraph of a class's docstring, on one line."""
    return " ".join((inspect.getdoc(cls) or cls.__name__).split("\n\n")[0].split())


def _kind(annotation: str, default: object) -> HyperparameterType:
    if isinstance(default, bool) or annotation == "bool":
        return "bool"
    if isinstance(default, tuple):
        return "pair"
    if "inspect._empty" in annotation:  # no annotation: the default's type says it
        annotation = type(default).__name__
    if "Literal[" in annotation or "str" in annotation:
        return "choice"
    if "Iterable[int]" in annotation or "list[int]" in annotation:
        return "int_list"
    if "int" in annotation and "float" not in annotation:
        return "int"
    return "float"


def _within(span: Range, default: Any) -> bool:
    values = default if isinstance(default, list) else [default]
    return all(v is None or span.lo <= v <= span.hi for v in values)


def _literal_choices(annotation: str) -> tuple[str, ...]:
    return tuple(re.findall(r"'([^']*)'", annotation))


def derive(
    cls: type,
    ranges: Mapping[str, Range],
    *,
    skip: Collection[str] = (),
    choices: Mapping[str, tuple[Any, ...]] | None = None,
    required_defaults: Mapping[str, Any] | None = None,
    first: int = 1,
    infer: Callable[[str, Any, HyperparameterType], Range] | None = None,
) -> tuple[Hyperparameter, ...]:
    """The hyperparameters of `cls`'s constructor after its first `first` arguments.

    A required argument takes its default from `required_defaults` (None there means the
    value is derived from the run, and the hyperparameter is nullable). A number the
    `ranges` table does not cover, or whose default lies outside its entry, gets the range
    `infer(name, default, type)` (without `infer`, that is a KeyError). An infinite default
    (no limit) is offered as null.
    """
    docs = docstring_args(cls)
    params = list(inspect.signature(cls).parameters.values())[first:]
    found = []
    for p in params:
        if p.name in skip or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            continue
        default = p.default
        if default is inspect.Parameter.empty:
            default = (required_defaults or {})[p.name]
        found.append(_hyperparameter(p, default, docs, ranges, choices or {}, infer))
    return tuple(found)


def _hyperparameter(
    param: inspect.Parameter,
    default: Any,
    docs: Mapping[str, str],
    ranges: Mapping[str, Range],
    choices: Mapping[str, tuple[Any, ...]],
    infer: Callable[[str, Any, HyperparameterType], Range] | None = None,
) -> Hyperparameter:
    annotation = param.annotation if isinstance(param.annotation, str) else str(param.annotation)
    kind = _kind(annotation, default)
    description = docs.get(param.name, "")
    if kind == "pair" and len(default) not in (2, 3):
        raise TypeError(f"{param.name}: only pairs and triples are supported, got {default!r}")
    if kind == "pair":
        default = [None if v is None else float(v) for v in default]
    elif kind == "float":
        default = None if default is None or not math.isfinite(default) else float(default)
    elif kind == "int_list":
        default = None if default is None else list(default)
    if kind == "choice":
        options = choices.get(param.name) or _literal_choices(annotation)
        if "None" in annotation and None not in options:
            options = (None, *options)
        return Hyperparameter(
            param.name, kind, default, description, choices=options, nullable=None in options
        )
    if kind == "bool":
        return Hyperparameter(param.name, kind, default, description)
    span = ranges.get(param.name)
    if span is None or not _within(span, default):
        if infer is None:
            raise KeyError(param.name)
        span = infer(param.name, default, kind)
    return Hyperparameter(
        param.name,
        kind,
        default,
        description,
        min=span.lo,
        max=span.hi,
        log=span.log,
        slider_min=span.lo if span.slider_lo is None else span.slider_lo,
        slider_max=span.hi if span.slider_hi is None else span.slider_hi,
        nullable=default is None,
    )
