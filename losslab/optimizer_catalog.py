"""What the two optimizer libraries cannot say about themselves.

`optimizers.py` derives every optimizer from its class: names, kinds and defaults from the
signature, descriptions from the docstring, paper references from the docstring (torch) or
the package's own README table (pytorch_optimizer, in its installed metadata). This module
holds the rest, one table per fact: how each family is stepped, which classes need more
than a 2-vector and why some cannot run here at all, slider ranges for the argument names
the libraries share, and the rule that derives a range from a default where no table entry
exists.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from importlib import metadata
from typing import Any, Literal

from .hyperparameters import Range

Source = Literal["torch.optim", "pytorch_optimizer"]
Family = Literal["first_order", "closure", "hessian", "sharpness", "wrapper", "schedule_free"]

FAMILIES: dict[Family, str] = {
    "first_order": "zero_grad(); loss.backward(); step()",
    "closure": "step(closure): the optimizer re-evaluates the loss itself",
    "hessian": "loss.backward(create_graph=True); step(): Hutchinson estimates of the Hessian "
    "diagonal from the run's own seeded random stream",
    "sharpness": "backward(); step(closure): first_step climbs to the ascent point "
    "w + rho * g/|g|, the closure takes the gradient there, second_step returns to w and lets "
    "the base optimizer step with it",
    "wrapper": "step() of a wrapper around a base optimizer it drives",
    "schedule_free": "train(); backward(); step(): frames show the evaluation point (what "
    "optimizer.eval() puts in the parameters), the training point is `train_point`",
}
"""How each family is stepped, as its authors document it: the source of the API's text."""

# Framework switches choose an implementation, not the algorithm: never user settings.
FRAMEWORK_SWITCHES = frozenset({"foreach", "fused", "capturable", "differentiable"})
# Arguments a wrapper's class takes for its base or model: given by the engine, not the user.
STRUCTURAL = frozenset({"params", "model", "optimizer", "base_optimizer"})

EXCLUDED: dict[str, str] = {
    "SparseAdam": "needs sparse gradients, which a dense 2-vector never has",
    "DeMo": "compresses updates across the workers of a torch.distributed process group and "
    "needs the einops package",
    "DistributedMuon": "needs an initialised torch.distributed process group",
    "LOMO": "fuses the update into backward (fused_backward over an nn.Module's gradients "
    "with loss scaling); it has no step() to call after backward()",
    "AdaLOMO": "fuses the update into backward (fused_backward over an nn.Module's "
    "gradients); it has no step() to call after backward()",
    "GSAM": "needs a model forward pass, a rho scheduler tied to an lr scheduler and "
    "batches supplied through set_closure()",
    "PCGrad": "projects the gradients of several task losses onto each other; a surface has "
    "one loss",
    "SafeFP16Optimizer": "manages fp16 mixed-precision loss scaling; runs here are float32 "
    "or float64",
}
"""Classes that cannot step a 2-D point here, with the reason (listed by the API)."""

SHARPNESS_CLASSES = frozenset({"SAM", "WSAM", "BSAM", "FriendlySAM", "LookSAM", "GSAM"})

CLOSURE_CLASSES = frozenset({"LBFGS", "AliG"})
HESSIAN_CLASSES = frozenset({"AdaHessian", "SophiaH"})
SCHEDULE_FREE_CLASSES = frozenset(
    {"ScheduleFreeAdamW", "ScheduleFreeRAdam", "ScheduleFreeSGD", "ScheduleFreeWrapper"}
)
# Muon and its relatives orthogonalize matrix updates and take a flag per parameter group.
MATRIX_CLASSES = frozenset({"Muon", "AdaMuon", "AdaGO", "MuonClip", "NorMuon", "SpectralSphere"})
GROUP_OPTIONS: dict[str, dict[str, Any]] = {
    name: {"use_muon": True} for name in ("Muon", "AdaMuon", "AdaGO", "MuonClip", "NorMuon")
}
# Classes whose constructor wants a model: they are given one holding the 2-vector.
TAKES_MODEL = frozenset({"WSAM", "AdamMini"})
REQUIRED_DEFAULTS: dict[str, dict[str, Any]] = {
    "BSAM": {"num_data": 100},
    "Ranger21": {"num_iterations": 1000},
}
"""Defaults for required constructor arguments (the size of the data set, the planned
number of iterations)."""
WRAPPER_DEFAULT_BASE = {"Lookahead": "Adam", "ScheduleFreeWrapper": "SGD"}
"""A wrapper's base optimizer when the request names none (otherwise SGD)."""

GROUPS_COUPLED: dict[str, str] = {
    **dict.fromkeys(
        ("DAdaptAdaGrad", "DAdaptAdam", "DAdaptAdan", "DAdaptLion", "DAdaptSGD", "Prodigy"),
        "estimates one step size d from all its parameter groups together",
    ),
    **dict.fromkeys(
        ("Gravity", "Kron", "VSGD"),
        "draws random numbers across its parameter groups in turn",
    ),
    **dict.fromkeys(
        ("Adai", "AdaGC", "AdamG", "ApolloDQN", "CAME", "Fromage", "GrokFastAdamW", "MARS"),
        "combines its parameter groups in its update (shared statistics or norms)",
    ),
    "Ranger21": "plans its schedule and normalizes its gradients over all its groups at once",
    "SaRA": "combines its parameter groups in its update (shared statistics or norms)",
    "SGDSaI": "computes its scale over a parameter's own shape, which a cell's group changes",
}
"""First-order classes whose step couples its parameter groups, so one group per map cell
would not reproduce single runs (tests check both that these differ and that every other
first-order class does not)."""

CHOICES: dict[str, tuple[str | None, ...]] = {
    "line_search_fn": (None, "strong_wolfe"),
    "adjust_lr_fn": (None, "original", "match_rms_adamw"),
    "rebound": ("constant", "belief"),
    "weight_decay_type": ("l2", "decoupled", "stable"),
    "pullback_momentum": ("none", "reset", "pullback"),
}
"""Choices the libraries document for string arguments not typed as a Literal."""

RANGES: dict[str, Range] = {
    "lr": Range(0.0, 1e6, log=True, slider_lo=1e-5, slider_hi=10.0),
    "max_lr": Range(0.0, 1e6, log=True, slider_lo=1e-5, slider_hi=10.0),
    "eps": Range(0.0, 1.0, log=True, slider_lo=1e-12, slider_hi=1e-1),
    "momentum": Range(0.0, 1.0, slider_hi=0.999),
    "dampening": Range(0.0, 1.0),
    "weight_decay": Range(0.0, 10.0, slider_hi=1.0),
    "alpha": Range(0.0, 1.0),
    "rho": Range(0.0, 1.0),
    "betas": Range(0.0, 1.0, slider_hi=0.9999),
    "beta": Range(0.0, 1.0, slider_hi=0.9999),
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
    "num_samples": Range(1, 20),
    "update_period": Range(1, 100),
    "k": Range(1, 100, slider_hi=20),
}
"""Accepted values and slider spans of argument names the classes share. A default outside
its entry (AdEMAMix's alpha is 5) falls back to `inferred_range`."""
RANGE_OVERRIDES: dict[tuple[str, str], Range] = {
    ("ASGD", "alpha"): Range(0.0, 2.0),
}

MAX_INT_SETTING = 10_000
"""No whole-number setting goes past this: counts of samples, steps or blocks above it
only make a step slower on a 2-vector."""


def inferred_range(name: str, default: Any, kind: str = "float") -> Range:
    """A range for an argument no table covers, from its default alone.

    Whole numbers: 0 (or the default, if negative) to max(10, 4 × default). Numbers in
    (0, 1e-3] are scale constants on a log slider three decades either side; other numbers
    in (0, 1) are coefficients with a 0–1 slider; numbers ≥ 1 get a 0–10×default slider;
    0 gets a 0–1 slider; negative ones a slider from 10×default to 0. A null or infinite
    default (the library's "off") slides over 1e-4–1e4 on a log scale. The accepted values
    are wider than the slider; the class itself refuses what it cannot take.
    """
    if kind == "int" and default is None:
        return Range(0, MAX_INT_SETTING)
    if isinstance(default, int) and not isinstance(default, bool):
        hi = min(max(10, 4 * abs(default)), MAX_INT_SETTING)
        return Range(min(0, default), hi)
    if isinstance(default, list):  # a tuple's elements: each in (0, 1) or a coefficient
        biggest = max((abs(v) for v in default if v is not None), default=1.0)
        return Range(0.0, 1.0) if biggest <= 1 else Range(0.0, 1e3, slider_hi=10 * biggest)
    unit = default is None or 0 <= default <= 1
    if re.search(r"(^|_)lr(_1d)?$", name) and (default is None or default >= 0):
        return RANGES["lr"]
    if name.startswith("beta") and unit:
        return RANGES["beta"]
    if default is None or not math.isfinite(default):
        return Range(0.0, 1e6, log=True, slider_lo=1e-4, slider_hi=1e4)
    if default < 0:
        return Range(-1e3, 1e3, slider_lo=10 * default, slider_hi=0.0)
    if default == 0:
        return Range(0.0, 1e3, slider_hi=1.0)
    if default <= 1e-3:
        return Range(0.0, 1e3, log=True, slider_lo=default / 1e3, slider_hi=default * 1e3)
    if default < 1:
        return Range(0.0, 1e3, slider_hi=1.0)
    return Range(0.0, 1e6, slider_hi=10 * default)


def unsettable(param: inspect.Parameter) -> str | None:
    """Why an argument cannot be a user setting (None when it can be one).

    Callables, dtypes, enums, modules, process groups, tensors and free-form strings have no
    JSON form a slider or menu can offer; those arguments keep the library's default and the
    API lists them as `fixed`.
    """
    default, annotation = param.default, str(param.annotation)
    if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
        return "variadic"
    if default is inspect.Parameter.empty:
        return None
    if isinstance(default, str) or (default is None and re.search(r"\bstr\b", annotation)):
        documented = "Literal[" in annotation or param.name in CHOICES
        return None if documented else "a free-form string"
    if default is None:
        return None if re.search(r"\b(float|int)\b", annotation) else "not a JSON value"
    if isinstance(default, bool | int | float):
        return None
    if isinstance(default, tuple) and all(v is None or isinstance(v, int | float) for v in default):
        return None if len(default) in (2, 3) else "a tuple that is not a pair or a triple"
    return "not a JSON value"


def torch_reference(cls: type) -> dict[str, str] | None:
    """The first paper a torch.optim docstring links (`.. _Title: url`)."""
    found = re.search(r"\.\. _(.+?):\s*\n?\s*(https?://\S+)", inspect.getdoc(cls) or "", re.S)
    if found is None:
        return None
    title = " ".join(found.group(1).replace("\\:", ":").split())
    return {"title": title, "url": found.group(2)}


@functools.cache
def _zoo_papers() -> dict[str, dict[str, str]]:
    """pytorch_optimizer's README table (in its installed metadata): name → title, paper."""
    try:
        text = metadata.metadata("pytorch-optimizer").get_payload()  # type: ignore[attr-defined]
    except metadata.PackageNotFoundError:  # pragma: no cover - a dependency
        return {}
    papers = {}
    row = re.compile(r"^\|\s*([^|]+?)\s*\|\s*\*([^|]+?)\*\s*\|[^|]*\|\s*\[paper\]\((\S+?)\)", re.M)
    for match in row.finditer(str(text)):
        papers[_key(match.group(1))] = {"title": match.group(2).strip(), "url": match.group(3)}
    return papers


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def zoo_reference(name: str) -> dict[str, str] | None:
    """The paper the package's README names for `name`, or for the family it belongs to
    (DAdaptAdam → D-Adaptation, ScheduleFreeAdamW → ScheduleFree)."""
    papers, key = _zoo_papers(), _key(name)
    if key in papers:
        return papers[key]
    prefixes = [k for k in papers if len(k) >= 3 and key.startswith(k)]
    if key.startswith("dadapt"):
        prefixes.append("dadaptation")
    best = max(prefixes, key=len, default=None)
    return None if best is None else papers.get(best)
