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

Stability (plain SGD family on a quadratic with curvature λ, lr η, momentum β, dampening τ,
weight decay w): gradient descent is stable when η(λ + w) < 2; heavy ball when
η(1 − τ)(λ + w) < 2(1 + β); Nesterov when η(λ + w) < 2(1 + β)/(1 + 2β). The analysis
reports sharpness (the Hessian's largest eigenvalue) at every frame against that threshold.
"""

from __future__ import annotations

import cmath
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from app.calculus import gradient_and_hessian
from app.engine import Frame, RunConfig, Status
from app.surfaces import Surface

OVERSHOOT_RATIO = 0.01
OSCILLATION_STEPS = 4
STALL_STEPS = 5
STALL_GRADIENT_FRACTION = 0.1
STALL_RADIUS_FRACTION = 0.05
MAX_EVENTS_PER_TYPE = 20
REACHED_FRACTION = 1e-3


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


def _points(frames: Sequence[Frame]) -> torch.Tensor:
    return torch.tensor([[f["x"], f["y"]] for f in frames], dtype=torch.float64)


def _grads(frames: Sequence[Frame]) -> torch.Tensor:
    return torch.tensor([f["grad"] for f in frames], dtype=torch.float64)


class StabilityRule(NamedTuple):
    threshold: float
    """The critical sharpness: stable on a quadratic while λ stays below it."""
    rule: str
    condition: str
    """The condition alone, for labels: "lr·λ < 2(1+β)"."""


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
    curvature = "(λ + wd)" if decay else "λ"
    if beta == 0:
        condition = f"lr·{curvature} < 2"
        return StabilityRule(
            2 / lr - decay, f"gradient descent is stable while {condition}", condition
        )
    if hp.get("nesterov"):
        condition = f"lr·{curvature} < 2(1+β)/(1+2β)"
        threshold = (2 + 2 * beta) / ((1 + 2 * beta) * lr) - decay
        return StabilityRule(threshold, f"Nesterov momentum is stable while {condition}", condition)
    condition = f"lr·(1−τ)·{curvature} < 2(1+β)" if damp else f"lr·{curvature} < 2(1+β)"
    threshold = 2 * (1 + beta) / (lr * (1 - damp)) - decay if damp < 1 else math.inf
    return StabilityRule(threshold, f"momentum SGD is stable while {condition}", condition)


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
    of z² − (1 + β)(1 − ηλ)z + β(1 − ηλ) for Nesterov.
    """
    if optimizer != "SGD" or not curvatures:
        return None
    lr, beta = float(hp.get("lr", 1e-3)), float(hp.get("momentum", 0.0))
    damp, decay = float(hp.get("dampening", 0.0)), float(hp.get("weight_decay", 0.0))
    radii = []
    for curvature in curvatures:
        h = lr * (curvature + decay)
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


def measured_contraction(
    points: torch.Tensor, target: tuple[float, float], last: int = 20
) -> float | None:
    """Geometric mean of |x_{k+1} − x*| / |x_k − x*| over the last steps (None if too short)."""
    distances = (points - torch.tensor(target, dtype=points.dtype)).norm(dim=1)
    tail = distances[-(last + 1) :]
    if len(tail) < 3 or bool((tail <= 0).any()):
        return None
    ratios = tail[1:] / tail[:-1]
    return float(torch.exp(torch.log(ratios).mean()))


def _outcome(surface: Surface, status: Status, basin: int | None, last: Frame) -> dict[str, Any]:
    """Where the run ended: a known minimum, diverged, stationary elsewhere, or still moving.

    A run that took every step counts as having reached a minimum once it is within
    `REACHED_FRACTION` of the domain's diagonal from it.
    """
    if status == "diverged":
        return {"type": "diverged", "minimum": None, "detail": "the run diverged"}
    if basin is None:
        if status == "converged":
            return {
                "type": "stationary",
                "minimum": None,
                "detail": "stopped away from any known minimum",
            }
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


def analyze(config: RunConfig, frames: Sequence[Frame], status: Status) -> dict[str, Any]:
    surface = config.surface
    points, grads = _points(frames), _grads(frames)
    losses = [f["loss"] for f in frames]
    h = hessians(surface, points)
    # Kinks (Ackley's tip) have no Hessian; count them as flat rather than fail.
    h = torch.where(torch.isfinite(h), h, torch.zeros_like(h))
    eigenvalues, vectors = torch.linalg.eigh(h)
    sharpness, min_eigs = eigenvalues[:, 1], eigenvalues[:, 0]
    tol = config.tolerance
    inside = basin_membership(surface, points)
    final = None if status == "diverged" else inside[-1]

    events = [
        *_overshoots(points, grads, losses, tol),
        *_oscillations(points, vectors[:, :, 1], tol),
        *_escapes(surface, inside, final),
        *_saddle_stalls(surface, points, grads, h, min_eigs),
    ]
    rule = stability_rule(config.optimizer.name, config.hyperparameters)
    if status == "diverged":
        why = ""
        if rule is not None and float(sharpness.max()) > rule[0]:
            why = f": sharpness {float(sharpness.max()):.3g} exceeds the bound {rule[0]:.3g}"
        events.append(Event("divergence", frames[-1]["step"], f"The run diverged{why}."))
    events.sort(key=lambda e: (e.step, e.type))

    outcome = _outcome(surface, status, final, frames[-1])
    contraction = predicted = None
    if status == "converged" and final is not None:
        m = surface.minima[final]
        contraction = measured_contraction(points, (m.x, m.y))
        at_minimum = torch.linalg.eigvalsh(hessians(surface, torch.tensor([[m.x, m.y]])))[0]
        predicted = predicted_contraction(
            config.optimizer.name, config.hyperparameters, at_minimum.tolist()
        )
        predicted = predicted if predicted is not None and math.isfinite(predicted) else None
    return {
        "events": [e.as_dict() for e in events],
        "outcome": outcome,
        "curvature": {
            "sharpness": [round(v, 12) for v in sharpness.tolist()],
            "min_eigenvalue": [round(v, 12) for v in min_eigs.tolist()],
        },
        "stability": {
            "threshold": None if rule is None or not math.isfinite(rule[0]) else rule[0],
            "rule": None if rule is None else rule.rule,
            "condition": None if rule is None else rule.condition,
            "max_sharpness": float(sharpness.max()),
            "measured_contraction": contraction,
            "predicted_contraction": predicted,
        },
    }
