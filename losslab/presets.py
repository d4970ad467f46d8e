"""One-click scenarios, each chosen so that its named phenomenon really happens.

`tests/test_presets.py` runs every preset and checks the analysis finds the phenomenon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .landscapes.surfaces import (
    FOUR_WELLS_ESCAPE_LR,
    SHARP_FLAT_LR,
    SHARP_FLAT_MOMENTUM,
    SHARP_FLAT_RHO,
    SHARP_FLAT_START,
)


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    phenomenon: str
    surface: str
    runs: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        runs = [{"surface": self.surface, **run} for run in self.runs]
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "phenomenon": self.phenomenon,
            "surface": self.surface,
            "runs": runs,
        }


def _sgd(
    lr: float, start: list[float] | None = None, steps: int = 300, **hp: Any
) -> dict[str, Any]:
    run: dict[str, Any] = {"optimizer": "SGD", "hyperparameters": {"lr": lr, **hp}, "steps": steps}
    if start is not None:
        run["start"] = start
    return run


PRESETS: list[Preset] = [
    Preset(
        "overshoot",
        "Overshoot on a bowl",
        "With lr·λ between 1 and 2 each step jumps past the bottom and lands on the other "
        "side, closer each time. Compare lr 0.3 (lr·λ = 0.6, no overshoot) with lr 0.8 "
        "(lr·λ = 1.6).",
        "overshoot",
        "bowl",
        [_sgd(0.3, [3, 2], 100), _sgd(0.8, [3, 2], 100)],
    ),
    Preset(
        "ravine",
        "Zig-zag in a ravine",
        "On an ill-conditioned quadratic the steep direction limits the learning rate, so "
        "plain SGD bounces from wall to wall while crawling along the floor. Momentum "
        "damps the bouncing and speeds up the crawl.",
        "oscillation",
        "elliptic",
        [_sgd(0.075, steps=400), _sgd(0.01, steps=400, momentum=0.9)],
    ),
    Preset(
        "divergence",
        "Past the stability bound",
        "Gradient descent is stable while lr·λmax < 2. Here λmax = 25, so lr 0.079 still "
        "converges (oscillating) and lr 0.081 diverges.",
        "divergence",
        "elliptic",
        [_sgd(0.079, steps=600), _sgd(0.081, steps=600)],
    ),
    Preset(
        "momentum_escape",
        "Momentum escapes a local minimum",
        "Plain SGD settles in the nearest, shallow well. With momentum 0.9 the same step "
        "size carries enough speed over the ridge to reach the global minimum.",
        "escape",
        "four_wells",
        [
            _sgd(FOUR_WELLS_ESCAPE_LR, steps=500),
            _sgd(FOUR_WELLS_ESCAPE_LR, steps=500, momentum=0.9),
        ],
    ),
    Preset(
        "saddle_stall",
        "Stall at a saddle, then escape",
        "Started almost exactly on the ridge line, the run slides into the saddle point where "
        "the gradient nearly vanishes, lingers, and finally rolls off along the downward "
        "direction into a well.",
        "saddle_stall",
        "four_wells",
        [_sgd(FOUR_WELLS_ESCAPE_LR, [2.5, 0.0005], 500)],
    ),
    Preset(
        "adam_vs_sgd_rosenbrock",
        "Adam vs SGD on Rosenbrock",
        "In Rosenbrock's curved banana valley SGD must keep its step small for the steep "
        "walls, zig-zags, and then crawls along the flat floor; Adam rescales each "
        "coordinate and travels the valley to (1, 1).",
        "oscillation",
        "rosenbrock",
        [
            _sgd(0.002, steps=2000),
            {"optimizer": "Adam", "hyperparameters": {"lr": 0.05}, "steps": 2000},
        ],
    ),
    Preset(
        "sam_flat_minimum",
        "SAM finds the flat minimum",
        "Two wells of nearly the same depth: a sharp one (largest Hessian eigenvalue 42) "
        "next to the start and a flat one (0.79) further away. SGD with momentum settles in "
        "the sharp well. SAM, with the same lr and momentum, steps with the gradient from a "
        "point rho uphill: on the sharp well's steep wall that gradient throws it back out "
        "over the rim, and it settles in the flat well. The analysis reports the sharpness "
        "where each run ends: about 42 for SGD, 0.79 for SAM.",
        "escape",
        "sharp_flat",
        [
            _sgd(SHARP_FLAT_LR, list(SHARP_FLAT_START), 800, momentum=SHARP_FLAT_MOMENTUM),
            {
                "optimizer": "SAM",
                "hyperparameters": {
                    "base_optimizer": "SGD",
                    "rho": SHARP_FLAT_RHO,
                    "lr": SHARP_FLAT_LR,
                    "momentum": SHARP_FLAT_MOMENTUM,
                },
                "start": list(SHARP_FLAT_START),
                "steps": 800,
            },
        ],
    ),
]


def get_presets() -> list[dict[str, Any]]:
    return [preset.as_dict() for preset in PRESETS]
