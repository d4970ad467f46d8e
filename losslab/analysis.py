"""What a run shows: named events, its outcome, the curvature along its path and the theory.

Events (each with the step where it happens and a one-line explanation):
- `overshoot`: a descending step went past the lowest point along its own direction (the
  directional derivative flips sign: g_k·d_k > 0 after g_{k-1}·d_k < 0, by at least
  `OVERSHOOT_RATIO` of its size), or the loss went up.
  On a quadratic this is exactly lr·λ > 1 along some direction.
- `oscillation`: at least `OSCILLATION_STEPS` successive steps reverse their component
  along one direction (the local sharpest direction, or an axis).
- `escape`: the run came within the basin radius of a known local minimum, left it, and
  ended elsewhere. The basin radius of a minimum is half its distance to the nearest other
  listed critical point.
- `saddle_stall`: `STALL_STEPS` or more successive frames with a gradient below
  `STALL_GRADIENT_FRACTION` of the run's largest, at points whose Hessian has a negative
  eigenvalue and whose Newton step |H⁻¹g| (the distance to the stationary point nearby) is
  under `STALL_RADIUS_FRACTION` of the domain's diagonal.
- `divergence`: the run diverged.

Outcome: a listed minimum reached; otherwise an end point where the run stopped (or, after
all its steps, sits within `REACHED_FRACTION` of the domain's diagonal by its Newton step)
is named by the second-derivative test: a local minimum that is not listed, a maximum, a
saddle point or a degenerate point.

Stability (plain SGD family on a quadratic with curvature λ, lr η, momentum β, dampening τ,
weight decay w): gradient descent is stable when η(λ + w) < 2; heavy ball when
η(1 − τ)(λ + w) < 2(1 + β); Nesterov when η(λ + w) < 2(1 + β)/(1 + 2β). With `maximize`,
torch negates the gradient before adding weight decay, so the iteration is descent on
−f + ½w|x|², whose curvature is w − λ: ascent is stable only where every λ < w (the surface
curves down) and η(w − λ) stays under the same bounds; on a convex bowl it always diverges.
The analysis reports sharpness (the Hessian's largest eigenvalue) along the path against
that threshold: at every frame, or on model surfaces (where one Hessian is a pass over the
data) at `MODEL_CURVATURE_FRAMES` evenly spaced frames, first and last included;
`curvature.steps` says which. `stability.final_sharpness` is the sharpness where the run
ended (its last frame): for a run that settled in a minimum, how sharp that minimum is.
"""

from __future__ import annotations

import cmath
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from .calculus import gradient_and_hessian
from .engine import Frame, RunConfig, Status
from .landscapes.models import ModelSurface
from .landscapes.network import NetworkSurface
from .landscapes.surfaces import Surface

OVERSHOOT_RATIO = 0.01
OSCILLATION_STEPS = 4
STALL_STEPS = 5
STALL_GRADIENT_FRACTION = 0.1
STALL_RADIUS_FRACTION = 0.05
MAX_EVENTS_PER_TYPE = 20
REACHED_FRACTION = 1e-3
DEGENERATE_FRACTION = 1e-6
"""An eigenvalue this small next to the other one counts as zero (a singular Hessian)."""
CONTRACTION_MIN_STEPS = 20
# Hessians are computed this many points at a time, so memory stays bounded however long
# the run. Measured on 10,001 frames: a 480-character formula takes 0.07 s and 4 MB in
# chunks of 1024. Model surfaces build (points, rows) tensors: chunks of 16 were as fast as
# any (0.46 ms a point on the network plane, 0.3 ms on 10,000 rows of linear regression)
# and hold about 30 MB on those 10,000 rows (one chunk of all 10,001 frames held 5 GB).
CURVATURE_CHUNK = 1024
MODEL_CURVATURE_CHUNK = 16
MODEL_CURVATURE_FRAMES = 1001
"""Frames with a Hessian on a model surface: about 0.5 s on the network plane."""


@dataclass(frozen=True)
class Event:
    type: str
    step: int
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "step": self.step, "detail": self.detail}


def hessians(surface: Surface, points: torch.Tensor) -> torch.Tensor:
    """The Hessian at each of `points` (N, 2): (N, 2, 2)."""
    return gradient_and_hessian(surface.fn, points)[1]


def _costly(surface: Surface) -> bool:
    """Model surfaces: there one Hessian is a pass over the whole data set."""
    return isinstance(surface, ModelSurface | NetworkSurface)


def curvature_frames(surface: Surface, n: int) -> list[int]:
    """The indices of the frames (of n) whose Hessian the analysis computes: every one, or on
    a model surface at most `MODEL_CURVATURE_FRAMES` evenly spaced, first and last included."""
    if not _costly(surface) or n <= MODEL_CURVATURE_FRAMES:
        return list(range(n))
    last = MODEL_CURVATURE_FRAMES - 1
    return sorted({round(i * (n - 1) / last) for i in range(MODEL_CURVATURE_FRAMES)})


def chunked_hessians(
    surface: Surface, points: torch.Tensor, check: Callable[[], None] | None = None
) -> torch.Tensor:
    """`hessians` a bounded chunk of points at a time, calling `check` before each chunk."""
    size = MODEL_CURVATURE_CHUNK if _costly(surface) else CURVATURE_CHUNK
    parts = []
    for start in range(0, len(points), size):
        if check is not None:
            check()
        parts.append(hessians(surface, points[start : start + size]))
    return torch.cat(parts) if parts else torch.zeros(0, 2, 2, dtype=points.dtype)


def _nearest(computed: Sequence[int], n: int) -> torch.Tensor:
    """For each of n frames, the position in `computed` (sorted indices) of the nearest one."""
    at = torch.tensor(computed, dtype=torch.float64)
    frames = torch.arange(n, dtype=torch.float64)
    above = torch.searchsorted(at, frames).clamp(max=len(computed) - 1)
    below = (above - 1).clamp(min=0)
    closer_below = (frames - at[below]).abs() <= (at[above] - frames).abs()
    return torch.where(closer_below, below, above)


def _points(frames: Sequence[Frame]) -> torch.Tensor:
    return torch.tensor([[f["x"], f["y"]] for f in frames], dtype=torch.float64)


def _grads(frames: Sequence[Frame]) -> torch.Tensor:
    return torch.tensor([f["grad"] for f in frames], dtype=torch.float64)


class StabilityRule(NamedTuple):
    threshold: float
    """The critical sharpness: stable on a quadratic while λ stays below it. For ascent it is
    the weight decay (0 without): ascent is stable only where the surface curves down."""
    rule: str
    condition: str
    """The condition alone, for labels: "lr·λ < 2(1+β)"."""
    ascent: bool = False
    """maximize: the iteration is descent on −f, so the curvature that counts is −λ."""
    floor: float = -math.inf
    """Ascent only: every λ must also stay above this, or it curves down too sharply."""
    formula: str = ""
    """Descent only: the threshold in symbols, "2(1+β)/lr" (λ must stay below it)."""


def stability_rule(optimizer: str, hp: Mapping[str, Any]) -> StabilityRule | None:
    """The stability bound of the SGD family on a quadratic, else None."""
    if optimizer != "SGD":
        return None
    lr = float(hp.get("lr", 1e-3))
    beta = float(hp.get("momentum", 0.0))
    damp = float(hp.get("dampening", 0.0))
    decay = float(hp.get("weight_decay", 0.0))
    if lr <= 0:
        return None
    # Stable while c·lr·μ < bound, with μ the curvature the iteration descends: λ + wd, or
    # for ascent wd − λ (torch negates the gradient, then adds weight decay).
    if beta == 0:
        who, climber, bound, factor, c = "gradient descent", "gradient ascent", "2", 2.0, 1.0
    elif hp.get("nesterov"):
        who, climber, bound = "Nesterov momentum", "ascent with Nesterov momentum", "2(1+β)/(1+2β)"
        factor, c = 2 * (1 + beta) / (1 + 2 * beta), 1.0
    else:
        who, climber, bound = "momentum SGD", "ascent with momentum", "2(1+β)"
        factor, c = 2 * (1 + beta), 1 - damp
    span = factor / (lr * c) if c > 0 else math.inf
    scale = "lr·(1−τ)" if c != 1 else "lr"
    if hp.get("maximize"):
        curves, size = ("λ < wd", "(wd − λ)") if decay else ("λ < 0", "|λ|")
        condition = f"{curves} and {scale}·{size} < {bound}"
        bowl = "a bowl curving up by more than wd" if decay else "a convex bowl"
        rule = (
            f"{climber} (maximize) descends −f: it is stable only where the surface curves down "
            f"in every direction, while {condition}; on {bowl} it always diverges"
        )
        return StabilityRule(decay, rule, condition, ascent=True, floor=decay - span)
    curvature = "(λ + wd)" if decay else "λ"
    condition = f"{scale}·{curvature} < {bound}"
    over = scale if scale == "lr" else f"({scale})"
    formula = f"{bound}/{over}" + (" − wd" if decay else "")
    return StabilityRule(
        span - decay, f"{who} is stable while {condition}", condition, formula=formula
    )


def _divergence(rule: StabilityRule | None, sharpness: float, lowest: float) -> str:
    """Why the run diverged, as far as the stability rule can tell."""
    if rule is None:
        return "The run diverged."
    if rule.ascent:
        if sharpness > rule.threshold:
            return (
                "The run diverged: ascent (maximize) climbs away wherever the surface curves up "
                f"(largest Hessian eigenvalue {sharpness:.3g} > {rule.threshold:.3g})."
            )
        if lowest < rule.floor:
            return (
                "The run diverged: the surface curves down too sharply for this lr "
                f"(smallest Hessian eigenvalue {lowest:.3g} < {rule.floor:.3g})."
            )
        return "The run diverged."
    if sharpness > rule.threshold:
        return (
            f"The run diverged: sharpness {sharpness:.3g} exceeds the bound {rule.threshold:.3g}."
        )
    return "The run diverged."


def _basin_radii(surface: Surface) -> list[float]:
    points = [(m.x, m.y) for m in surface.minima] + [(s.x, s.y) for s in surface.saddles]
    radii = []
    for m in surface.minima:
        others = [math.dist((m.x, m.y), p) for p in points if p != (m.x, m.y)]
        span = math.dist(
            (surface.domain.x[0], surface.domain.y[0]), (surface.domain.x[1], surface.domain.y[1])
        )
        radii.append(0.5 * min(others) if others else 0.1 * span)
    return radii


def basin_membership(surface: Surface, points: torch.Tensor) -> list[int | None]:
    """For each point (N, 2), the nearest listed minimum whose basin radius contains it."""
    if not surface.minima:
        return [None] * len(points)
    minima = torch.tensor([[m.x, m.y] for m in surface.minima], dtype=points.dtype)
    radii = torch.tensor(_basin_radii(surface), dtype=points.dtype)
    distances = torch.cdist(points, minima)
    distances = torch.where(distances <= radii, distances, torch.full_like(distances, math.inf))
    best, index = distances.min(dim=1)
    return [
        int(i) if math.isfinite(d) else None
        for d, i in zip(best.tolist(), index.tolist(), strict=True)
    ]


def _streaks(flags: Sequence[bool], minimum: int) -> list[tuple[int, int]]:
    """(start, length) of every run of at least `minimum` successive True values."""
    found, start = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start >= minimum:
                found.append((start, i - start))
            start = None
    return found


def _overshoots(
    points: torch.Tensor, grads: torch.Tensor, losses: list[float], tol: float
) -> list[Event]:
    steps = points[1:] - points[:-1]
    before = (grads[:-1] * steps).sum(1)
    after = (grads[1:] * steps).sum(1)
    moved = steps.norm(dim=1) > 10 * tol
    crossed = (before < 0) & (after > -OVERSHOOT_RATIO * before) & moved
    rose = torch.tensor([b > a for a, b in itertools.pairwise(losses)], dtype=torch.bool) & moved
    flags = (crossed | rose).tolist()
    events = []
    for start, length in _streaks(flags, 1)[:MAX_EVENTS_PER_TYPE]:
        step = start + 1
        why = (
            "the loss went up"
            if rose[start]
            else "it went past the lowest point along its direction"
        )
        more = f" (and {length - 1} more steps in a row)" if length > 1 else ""
        events.append(Event("overshoot", step, f"Step {step} overshot: {why}{more}."))
    return events


def _oscillations(points: torch.Tensor, top_vectors: torch.Tensor, tol: float) -> list[Event]:
    steps = points[1:] - points[:-1]
    if len(steps) < OSCILLATION_STEPS + 1:
        return []
    directions = {
        "the sharpest direction": top_vectors[1:-1],
        "x": torch.tensor([[1.0, 0.0]], dtype=steps.dtype).expand(len(steps) - 1, 2),
        "y": torch.tensor([[0.0, 1.0]], dtype=steps.dtype).expand(len(steps) - 1, 2),
    }
    events: list[Event] = []
    covered: set[int] = set()
    for name, v in directions.items():
        a = (steps[:-1] * v).sum(1)
        b = (steps[1:] * v).sum(1)
        reversing = (a * b < 0) & (a.abs() > 10 * tol) & (b.abs() > 10 * tol)
        for start, length in _streaks(reversing.tolist(), OSCILLATION_STEPS):
            step = start + 1
            if step in covered:
                continue
            covered.update(range(step, step + length))
            events.append(
                Event(
                    "oscillation",
                    step,
                    f"Steps {step}–{step + length} zig-zag: each reverses the last along {name}.",
                )
            )
    events.sort(key=lambda e: e.step)
    return events[:MAX_EVENTS_PER_TYPE]


def _escapes(surface: Surface, inside: list[int | None], final: int | None) -> list[Event]:
    events = []
    for index, m in enumerate(surface.minima):
        if m.kind != "local" or index == final:
            continue
        visits = [k for k, near in enumerate(inside) if near == index]
        if not visits or visits[-1] == len(inside) - 1:
            continue
        step = visits[-1] + 1
        where = "another minimum" if final is not None else "elsewhere"
        if final is not None:
            target = surface.minima[final]
            where = f"the {target.kind} minimum at ({target.x:.3g}, {target.y:.3g})"
        events.append(
            Event(
                "escape",
                step,
                f"Left the basin of the local minimum at ({m.x:.3g}, {m.y:.3g}) at step {step} "
                f"and went on to {where}.",
            )
        )
    return events


def _saddle_stalls(
    surface: Surface,
    points: torch.Tensor,
    grads: torch.Tensor,
    h: torch.Tensor,
    min_eigs: torch.Tensor,
) -> list[Event]:
    norms = grads.norm(dim=1)
    scale = float(norms.max()) if len(norms) else 0.0
    # The Newton step |H⁻¹g| estimates the distance to the stationary point the run is near.
    newton = torch.linalg.lstsq(h, grads.unsqueeze(-1)).solution.squeeze(-1).norm(dim=1)
    (xlo, xhi), (ylo, yhi) = surface.domain.x, surface.domain.y
    near = newton < STALL_RADIUS_FRACTION * math.hypot(xhi - xlo, yhi - ylo)
    small = norms < STALL_GRADIENT_FRACTION * scale
    flags = (small & near & (min_eigs < -1e-9)).tolist()
    events = []
    for start, length in _streaks(flags, STALL_STEPS)[:MAX_EVENTS_PER_TYPE]:
        x, y = points[start].tolist()
        where = ""
        if surface.saddles:
            s = min(surface.saddles, key=lambda s: math.dist((s.x, s.y), (x, y)))
            where = f" near the saddle at ({s.x:.3g}, {s.y:.3g})"
        events.append(
            Event(
                "saddle_stall",
                start,
                f"Stalled for {length} steps{where}: the gradient almost vanishes where the "
                "surface curves down in one direction.",
            )
        )
    return events


def predicted_contraction(
    optimizer: str, hp: Mapping[str, Any], curvatures: Sequence[float]
) -> float | None:
    """The per-step contraction the SGD family must show near a quadratic minimum.

    The spectral radius of the linear iteration for each curvature λ, the largest of them:
    |1 − ηλ| for gradient descent, the roots of z² − (1 + β − ηλ)z + β for heavy ball and
    of z² − (1 + β)(1 − ηλ)z + β(1 − ηλ) for Nesterov. With `maximize` the iteration descends
    −f, so λ becomes −λ (and a convex minimum gives a radius above 1).
    """
    if optimizer != "SGD" or not curvatures:
        return None
    lr, beta = float(hp.get("lr", 1e-3)), float(hp.get("momentum", 0.0))
    damp, decay = float(hp.get("dampening", 0.0)), float(hp.get("weight_decay", 0.0))
    sign = -1.0 if hp.get("maximize") else 1.0
    radii = []
    for curvature in curvatures:
        h = lr * (sign * curvature + decay)
        if beta == 0:
            radii.append(abs(1 - h))
            continue
        if hp.get("nesterov"):
            b, c = (1 + beta) * (1 - h), beta * (1 - h)
        else:
            h *= 1 - damp
            b, c = 1 + beta - h, beta
        root = cmath.sqrt(b * b - 4 * c)
        radii.append(max(abs((b + root) / 2), abs((b - root) / 2)))
    return max(radii)


def measured_contraction(points: torch.Tensor, target: tuple[float, float]) -> float | None:
    """The per-step contraction of |x_k − x*|: exp of the least-squares slope of log |x_k − x*|
    against k over the last half of the run (at least `CONTRACTION_MIN_STEPS` steps).

    A long window, because with complex roots (momentum) the run spirals in: the distance
    swings within each turn, so a ratio over a few steps depends on where in the turn they
    fall, while a fit over many turns does not. None if too short or the distance hits 0.
    """
    distances = (points - torch.tensor(target, dtype=points.dtype)).norm(dim=1)
    window = max(CONTRACTION_MIN_STEPS, (len(distances) - 1) // 2)
    tail = distances[-(window + 1) :]
    if len(tail) < 3 or bool((tail <= 0).any()):
        return None
    steps = torch.arange(len(tail), dtype=tail.dtype)
    steps = steps - steps.mean()
    logs = tail.log()
    slope = (steps * (logs - logs.mean())).sum() / (steps * steps).sum()
    return float(slope.exp())


def classify(hessian: torch.Tensor) -> tuple[str, str]:
    """What a stationary point with this 2×2 Hessian is, by the second-derivative test:
    (what, why), e.g. ("a saddle point", "Hessian indefinite")."""
    if not bool(torch.isfinite(hessian).all()):
        return "a kink", "the surface has no Hessian there"
    low, high = torch.linalg.eigvalsh(hessian).tolist()
    tol = DEGENERATE_FRACTION * max(abs(low), abs(high))
    if low > tol:
        return "a local minimum", "Hessian positive definite"
    if high < -tol:
        return "a local maximum", "Hessian negative definite"
    if low < -tol and high > tol:
        return "a saddle point", "Hessian indefinite"
    return (
        "a degenerate stationary point",
        "Hessian singular: the second-derivative test can't tell",
    )


def _stationary(surface: Surface, last: Frame, steps_ran_out: bool) -> dict[str, Any] | None:
    """The outcome of a run that ends at a point no listed minimum accounts for, named by its
    Hessian; None when it took all its steps and is not sitting at a stationary point."""
    point = torch.tensor([[last["x"], last["y"]]], dtype=torch.float64)
    grad, hessian = (t[0] for t in gradient_and_hessian(surface.fn, point))
    what, why = classify(hessian)
    where = f"{what} at ({last['x']:.4g}, {last['y']:.4g}) ({why})"
    if what == "a local minimum":
        where += ", not one of the listed minima"
    if steps_ran_out:
        if what in ("a kink", "a degenerate stationary point"):
            return None  # no Newton step to tell how far the stationary point is
        # The Newton step |H⁻¹g| is the distance to the stationary point the run is near.
        (xlo, xhi), (ylo, yhi) = surface.domain.x, surface.domain.y
        newton = float(torch.linalg.solve(hessian, grad).norm())
        if not newton < REACHED_FRACTION * math.hypot(xhi - xlo, yhi - ylo):
            return None
        detail = f"took all its steps and sits at {where}"
        return {"type": "stationary", "minimum": None, "detail": detail}
    return {"type": "stationary", "minimum": None, "detail": f"stopped at {where}"}


def _outcome(surface: Surface, status: Status, basin: int | None, last: Frame) -> dict[str, Any]:
    """Where the run ended: a listed minimum, diverged, another stationary point (named by its
    Hessian), or still moving.

    A run that took every step counts as having reached a listed minimum once it is within
    `REACHED_FRACTION` of the domain's diagonal from it, and as sitting at another stationary
    point once its Newton step is that short.
    """
    if status == "diverged":
        return {"type": "diverged", "minimum": None, "detail": "the run diverged"}
    if basin is None:
        stationary = _stationary(surface, last, steps_ran_out=status != "converged")
        if stationary is not None:
            return stationary
        return {"type": "moving", "minimum": None, "detail": "still moving when the steps ran out"}
    m = surface.minima[basin]
    (xlo, xhi), (ylo, yhi) = surface.domain.x, surface.domain.y
    close = math.dist((m.x, m.y), (last["x"], last["y"])) < REACHED_FRACTION * math.hypot(
        xhi - xlo, yhi - ylo
    )
    where = f"the {m.kind} minimum at ({m.x:.4g}, {m.y:.4g})"
    if status == "converged" or close:
        return {"type": "minimum", "minimum": basin, "detail": f"reached {where}"}
    return {"type": "moving", "minimum": basin, "detail": f"still moving, in the basin of {where}"}


def analyze(
    config: RunConfig,
    frames: Sequence[Frame],
    status: Status,
    check: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The analysis of a run (see the module's docstring). `check` is called between chunks
    of Hessians; it raises to stop the work (the client left, or the time limit passed)."""
    surface = config.surface
    points, grads = _points(frames), _grads(frames)
    losses = [f["loss"] for f in frames]
    computed = curvature_frames(surface, len(frames))
    h = chunked_hessians(surface, points[computed], check)
    # Kinks (Ackley's tip) have no Hessian; count them as flat rather than fail.
    h = torch.where(torch.isfinite(h), h, torch.zeros_like(h))
    eigenvalues, vectors = torch.linalg.eigh(h)
    sharpness, min_eigs = eigenvalues[:, 1], eigenvalues[:, 0]
    # Per-frame events read the nearest frame with a Hessian (the frame itself if unsampled).
    nearest = _nearest(computed, len(frames))
    tol = config.tolerance
    inside = basin_membership(surface, points)
    final = None if status == "diverged" else inside[-1]

    events = [
        *_overshoots(points, grads, losses, tol),
        *_oscillations(points, vectors[nearest, :, 1], tol),
        *_escapes(surface, inside, final),
        *_saddle_stalls(surface, points, grads, h[nearest], min_eigs[nearest]),
    ]
    # Per-coordinate settings (param_groups) have no single bound in the lr.
    rule = None
    if config.param_groups is None:
        rule = stability_rule(config.optimizer.name, config.hyperparameters)
    if status == "diverged":
        why = _divergence(rule, float(sharpness.max()), float(min_eigs.min()))
        events.append(Event("divergence", frames[-1]["step"], why))
    events.sort(key=lambda e: (e.step, e.type))

    outcome = _outcome(surface, status, final, frames[-1])
    contraction = predicted = None
    if status == "converged" and final is not None and config.param_groups is None:
        m = surface.minima[final]
        contraction = measured_contraction(points, (m.x, m.y))
        at = torch.tensor([[m.x, m.y]], dtype=torch.float64)
        at_minimum = torch.linalg.eigvalsh(hessians(surface, at))[0]
        predicted = predicted_contraction(
            config.optimizer.name, config.hyperparameters, at_minimum.tolist()
        )
        predicted = predicted if predicted is not None and math.isfinite(predicted) else None
    # Ascent has no critical sharpness to draw: it is unstable wherever λ > wd.
    threshold = None
    if rule is not None and not rule.ascent and math.isfinite(rule.threshold):
        threshold = rule.threshold
    return {
        "events": [e.as_dict() for e in events],
        "outcome": outcome,
        "curvature": {
            "steps": [frames[i]["step"] for i in computed],
            "sharpness": [round(v, 12) for v in sharpness.tolist()],
            "min_eigenvalue": [round(v, 12) for v in min_eigs.tolist()],
        },
        "stability": {
            "threshold": threshold,
            "rule": None if rule is None else rule.rule,
            "condition": None if rule is None else rule.condition,
            "formula": None if rule is None or not rule.formula else rule.formula,
            "max_sharpness": float(sharpness.max()),
            # The last frame always has a Hessian (curvature_frames keeps it).
            "final_sharpness": float(sharpness[-1]),
            "measured_contraction": contraction,
            "predicted_contraction": predicted,
        },
    }
