"""Loss surfaces: one torch function per surface, next to its domain and critical points.

Every `fn` maps points of shape (..., 2) to losses of shape (...), with p[..., 0] as x and
p[..., 1] as y, using only differentiable torch ops: the same function draws the contour grid
and gives the optimizers their autograd gradients.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from ..calculus import gradient_and_hessian
from ..errors import InvalidInput

Point = tuple[float, float]


@dataclass(frozen=True)
class Domain:
    x: tuple[float, float]
    y: tuple[float, float]


@dataclass(frozen=True)
class Minimum:
    x: float
    y: float
    kind: Literal["global", "local"]


@dataclass(frozen=True)
class Saddle:
    x: float
    y: float


@dataclass(frozen=True)
class Surface:
    name: str
    title: str
    description: str
    formula: str
    fn: Callable[[Tensor], Tensor]
    domain: Domain
    default_start: Point
    minima: tuple[Minimum, ...]
    saddles: tuple[Saddle, ...]
    source: str = ""
    """Python source defining `fn` for exported scripts; empty: the source of `fn` itself."""
    parameters: int = 2
    """How many parameters a run steps: 2, the point (x, y); 1 for a one-parameter model
    (y = w·x), whose runs step w alone and keep y at 0."""

    def __call__(self, p: Tensor) -> Tensor:
        return self.fn(p)

    def loss_at(self, x: float, y: float) -> float:
        with torch.no_grad():
            return float(self.fn(torch.tensor([x, y], dtype=torch.float64)))

    def batches(self, dtype: torch.dtype) -> Iterator[tuple[Tensor, Tensor, int]] | None:
        """What each step trains on, as (x, y, epoch), for a surface made of data (a model's
        loss); None for a function, which every step follows itself."""
        return None

    def batch_loss(self, p: Tensor, x: Tensor, y: Tensor) -> Tensor:
        """The loss of one batch at `p` (surfaces with `batches` only): what the step follows."""
        return self.fn(p)

    @property
    def mini_batched(self) -> bool:
        """Whether a step's batch is part of the data, so its gradient is not the loss's own."""
        return False

    def grid(
        self, resolution: int, dtype: torch.dtype = torch.float64
    ) -> tuple[Tensor, Tensor, Tensor]:
        """xs (resolution,), ys (resolution,) and z (resolution, resolution) with
        z[i, j] = f(xs[j], ys[i]), the orientation Plotly expects."""
        xs = torch.linspace(*self.domain.x, resolution, dtype=dtype)
        ys = torch.linspace(*self.domain.y, resolution, dtype=dtype)
        with torch.no_grad():
            z = self.fn(torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1))
        return xs, ys, z


class UnknownSurface(InvalidInput):
    def __init__(self, name: str) -> None:
        choices = ", ".join(SURFACES)
        super().__init__(("surface",), f"Unknown surface {name!r}; choose one of: {choices}")
        self.name = name


def _minima(kind: Literal["global", "local"], points: Sequence[Point]) -> tuple[Minimum, ...]:
    return tuple(Minimum(x, y, kind) for x, y in points)


def _saddles(points: Sequence[Point]) -> tuple[Saddle, ...]:
    return tuple(Saddle(x, y) for x, y in points)


def bowl(p: Tensor) -> Tensor:
    return p[..., 0] ** 2 + p[..., 1] ** 2


def elliptic(p: Tensor) -> Tensor:
    return 0.5 * (p[..., 0] ** 2 + 25 * p[..., 1] ** 2)


def saddle(p: Tensor) -> Tensor:
    return p[..., 0] ** 2 - p[..., 1] ** 2


def monkey_saddle(p: Tensor) -> Tensor:
    x, y = p[..., 0], p[..., 1]
    return x**3 - 3 * x * y**2


def rosenbrock(p: Tensor) -> Tensor:
    x, y = p[..., 0], p[..., 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def beale(p: Tensor) -> Tensor:
    x, y = p[..., 0], p[..., 1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def four_wells(p: Tensor) -> Tensor:
    # g(x) + h(y) with g'(x) = 4x(x + 2)(x - 1.5) and h'(y) = 2y(y + 1)(y - 2): every critical
    # point is a pair of exact roots, and the four wells have four different depths.
    x, y = p[..., 0], p[..., 1]
    return x**4 + 2 / 3 * x**3 - 6 * x**2 + 0.5 * y**4 - 2 / 3 * y**3 - 2 * y**2


def six_hump_camel(p: Tensor) -> Tensor:
    x, y = p[..., 0], p[..., 1]
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def himmelblau(p: Tensor) -> Tensor:
    x, y = p[..., 0], p[..., 1]
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def rastrigin(p: Tensor) -> Tensor:
    return 20 + (p**2 - 10 * torch.cos(2 * math.pi * p)).sum(dim=-1)


def ackley(p: Tensor) -> Tensor:
    # vector_norm's backward is zero at the origin, where sqrt(x² + y²) would give 0 * inf = NaN:
    # the kink at the global minimum gets a finite (sub)gradient.
    r = torch.linalg.vector_norm(p, dim=-1)
    waves = torch.cos(2 * math.pi * p).mean(dim=-1)
    return -20 * torch.exp(-0.2 * math.sqrt(0.5) * r) - torch.exp(waves) + math.e + 20


def sharp_flat(p: Tensor) -> Tensor:
    # A gentle bowl holding two Gaussian wells of nearly the same depth: a wide one (σ = 1.2)
    # at (−1.2, 0) and one 8 times narrower (σ = 0.15) at (1.5, 0), about 54 times sharper.
    x, y = p[..., 0], p[..., 1]
    wide = torch.exp(-((x + 1.2) ** 2 + y**2) / 2.88)
    narrow = torch.exp(-((x - 1.5) ** 2 + y**2) / 0.045)
    return 0.05 * (x**2 + y**2) - wide - 0.95 * narrow


# With this lr, plain SGD from four_wells' default start stops in the well at (1.5, 2) and
# momentum 0.9 carries it over the ridge into the global minimum (the effect holds for any lr
# from 0.005 to 0.03, in float32 and float64).
FOUR_WELLS_ESCAPE_LR = 0.01

# SGD and SAM (base SGD) with these settings, from sharp_flat's default start (2, 0.3): SGD
# settles in the sharp well, SAM in the flat one. Measured in float32 and float64 over 800
# steps, the outcome holds for lr from 0.0204 to 0.041 (0.74× to 1.49×), for rho from 0.07 to
# at least 0.25, for any start within 0.3 of the default, and within ±0.05 per axis with lr
# ±20%. With a smaller lr SAM stays in the sharp well or stalls on the saddle at its rim (it
# lingers there for a few hundred steps from some starts); with a larger one SGD jumps out too.
SHARP_FLAT_LR = 0.0275
SHARP_FLAT_MOMENTUM = 0.9
SHARP_FLAT_RHO = 0.1
SHARP_FLAT_START = (2.0, 0.3)

# Critical points without a closed form, refined offline by Newton's method on the functions
# above in float64 (full precision; the tests check that the gradient vanishes at each).
_CAMEL_MINIMA = [
    (0.08984201310031806, -0.7126564030207396),
    (1.7036067149699807, -0.7960835686726252),
    (1.6071047529201974, 0.5686514548841314),
]
_CAMEL_SADDLES = [
    (1.1092053368047863, -0.7682680925095399),
    (1.6380679841897785, 0.22867406904439405),
    (1.2960702671671092, 0.6050843880386585),
]
_HIMMELBLAU_MINIMA = [
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.2831859912861696),
    (3.5844283403304917, -1.8481265269644034),
]
_HIMMELBLAU_SADDLES = [
    (0.08667750455539634, 2.884254701174776),
    (-3.0730257507643897, -0.08135304428796751),
    (3.385154183607021, 0.07385187983774928),
    (-0.12796134673068005, -1.9537149802445766),
]
# sharp_flat is even in y, so its critical points lie on y = 0: the flat minimum, the sharp
# one and the saddle on the rim of the sharp well between them (the only three).
_SHARP_FLAT_FLAT = (-1.0478870614370799, 0.0)
_SHARP_FLAT_SHARP = (1.4928852000650925, 0.0)
_SHARP_FLAT_SADDLE = (1.0827465017335063, 0.0)
_BEALE_SADDLE = (0.10053793732415833, -2.6445135850231254)
# Rastrigin adds one even 1-D term per axis, so its critical points pair up the 1-D ones:
# minima near the integers, maxima near the half-integers (positive halves listed here).
_RASTRIGIN_LOW = [
    0.9949586376523348,
    1.9899122337085497,
    2.984855701039481,
    3.9797838603007536,
    4.974691390895051,
]
_RASTRIGIN_HIGH = [
    0.5025460365546747,
    1.5076407318703584,
    2.512743318200085,
    3.517859138170441,
    4.522993659584519,
]
_RASTRIGIN_LOWS = sorted({0.0, *_RASTRIGIN_LOW, *(-x for x in _RASTRIGIN_LOW)})
_RASTRIGIN_HIGHS = sorted({*_RASTRIGIN_HIGH, *(-x for x in _RASTRIGIN_HIGH)})


def _ackley_local_minima() -> list[Point]:
    """Ackley's local minima: one near each integer point of its domain but the origin, pulled
    slightly towards it. They have no closed form, so Newton's method refines them from the
    lattice here in float64 (five steps reach full precision; eight are taken)."""
    lattice = [q for q in itertools.product(range(-5, 6), repeat=2) if q != (0, 0)]
    points = torch.tensor(lattice, dtype=torch.float64)
    for _ in range(8):
        gradient, hessian = gradient_and_hessian(ackley, points)
        points = points - torch.linalg.solve(hessian, gradient)
    return [(x, y) for x, y in points.tolist()]


def _mirrored(points: Sequence[Point]) -> list[Point]:
    """The points and their images under p -> -p, a symmetry of the six-hump camel."""
    return [*points, *((-x, -y) for x, y in points)]


_all = [
    Surface(
        name="bowl",
        title="Bowl",
        description="The simplest convex loss: a round bowl with one minimum at the origin. "
        "The gradient points straight at the minimum, so every optimizer should find it.",
        formula="x² + y²",
        fn=bowl,
        domain=Domain((-4.0, 4.0), (-4.0, 4.0)),
        default_start=(3.0, 2.0),
        minima=_minima("global", [(0.0, 0.0)]),
        saddles=(),
    ),
    Surface(
        name="elliptic",
        title="Elliptic valley",
        description="A quadratic that curves 25 times more sharply across its valley than "
        "along it (condition number 25). Plain SGD zig-zags across the narrow direction while "
        "crawling along the long one; momentum and adaptive methods straighten the path.",
        formula="½(x² + 25y²)",
        fn=elliptic,
        domain=Domain((-5.0, 5.0), (-2.0, 2.0)),
        default_start=(-4.5, 1.5),
        minima=_minima("global", [(0.0, 0.0)]),
        saddles=(),
    ),
    Surface(
        name="saddle",
        title="Saddle",
        description="Curving up along x and down along y, with a flat saddle point at the "
        "origin and no minimum. A run started just off the x-axis slows down near the saddle "
        "before it escapes downhill along y.",
        formula="x² − y²",
        fn=saddle,
        domain=Domain((-2.0, 2.0), (-2.0, 2.0)),
        default_start=(1.5, 0.01),
        minima=(),
        saddles=_saddles([(0.0, 0.0)]),
    ),
    Surface(
        name="monkey_saddle",
        title="Monkey saddle",
        description="Three valleys meet at a saddle whose curvature is zero too, so the "
        "gradient fades quadratically near the origin: runs creep across a plateau before "
        "they find a way down.",
        formula="x³ − 3xy²",
        fn=monkey_saddle,
        domain=Domain((-2.0, 2.0), (-2.0, 2.0)),
        default_start=(1.2, 0.02),
        minima=(),
        saddles=_saddles([(0.0, 0.0)]),
    ),
    Surface(
        name="rosenbrock",
        title="Rosenbrock",
        description="A curved, flat-bottomed banana valley around the minimum at (1, 1). "
        "Reaching the valley is easy; following its bend to the minimum is slow for "
        "methods that only follow the gradient.",
        formula="(1 − x)² + 100(y − x²)²",
        fn=rosenbrock,
        domain=Domain((-2.0, 2.0), (-1.0, 3.0)),
        default_start=(-1.2, 1.0),
        minima=_minima("global", [(1.0, 1.0)]),
        saddles=(),
    ),
    Surface(
        name="beale",
        title="Beale",
        description="Flat plateaus and steep walls that grow quickly toward the corners, with "
        "the minimum at (3, 0.5) and two saddle points. A test of how optimizers handle "
        "gradients that differ by orders of magnitude.",
        formula="(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
        fn=beale,
        domain=Domain((-4.5, 4.5), (-4.5, 4.5)),
        default_start=(1.0, 1.0),
        minima=_minima("global", [(3.0, 0.5)]),
        saddles=_saddles([(0.0, 1.0), _BEALE_SADDLE]),
    ),
    Surface(
        name="four_wells",
        title="Four wells",
        description="Four wells of different depths separated by ridges; the deepest is at "
        f"(−2, 2). From the default start (2.5, 2.5) with lr {FOUR_WELLS_ESCAPE_LR}, plain SGD "
        "settles in the nearest well, at (1.5, 2), while momentum 0.9 carries it over the "
        "ridge into the deepest one; from other starts the well a run ends in depends on "
        "where it starts and how far momentum carries it.",
        formula="x⁴ + ⅔x³ − 6x² + ½y⁴ − ⅔y³ − 2y²",
        fn=four_wells,
        domain=Domain((-3.0, 3.0), (-3.0, 3.0)),
        default_start=(2.5, 2.5),
        minima=_minima("global", [(-2.0, 2.0)])
        + _minima("local", [(-2.0, -1.0), (1.5, 2.0), (1.5, -1.0)]),
        saddles=_saddles([(0.0, 2.0), (0.0, -1.0), (-2.0, 0.0), (1.5, 0.0)]),
    ),
    Surface(
        name="six_hump_camel",
        title="Six-hump camel",
        description="Two global minima, four shallower local ones and seven saddles between "
        "them. Where a run ends depends on where it starts and how much it overshoots.",
        formula="(4 − 2.1x² + x⁴/3)x² + xy + (4y² − 4)y²",
        fn=six_hump_camel,
        domain=Domain((-3.0, 3.0), (-2.0, 2.0)),
        default_start=(-1.5, -1.0),
        minima=_minima("global", _mirrored(_CAMEL_MINIMA[:1]))
        + _minima("local", _mirrored(_CAMEL_MINIMA[1:])),
        saddles=_saddles([(0.0, 0.0), *_mirrored(_CAMEL_SADDLES)]),
    ),
    Surface(
        name="himmelblau",
        title="Himmelblau",
        description="Four global minima of equal depth, separated by four saddles around a "
        "local maximum. Which minimum a run reaches depends on its start and step size.",
        formula="(x² + y − 11)² + (x + y² − 7)²",
        fn=himmelblau,
        domain=Domain((-5.0, 5.0), (-5.0, 5.0)),
        default_start=(0.0, 0.0),
        minima=_minima("global", [(3.0, 2.0), *_HIMMELBLAU_MINIMA]),
        saddles=_saddles(_HIMMELBLAU_SADDLES),
    ),
    Surface(
        name="rastrigin",
        title="Rastrigin",
        description="A bowl covered in a regular egg-crate of local minima, one near every "
        "integer point. Small steps get stuck in the nearest dimple; only the one at the "
        "origin is global.",
        formula="20 + x² − 10cos(2πx) + y² − 10cos(2πy)",
        fn=rastrigin,
        domain=Domain((-5.12, 5.12), (-5.12, 5.12)),
        default_start=(4.2, 3.6),
        minima=_minima("global", [(0.0, 0.0)])
        + _minima(
            "local",
            [q for q in itertools.product(_RASTRIGIN_LOWS, _RASTRIGIN_LOWS) if q != (0.0, 0.0)],
        ),
        saddles=_saddles(
            [
                *itertools.product(_RASTRIGIN_LOWS, _RASTRIGIN_HIGHS),
                *itertools.product(_RASTRIGIN_HIGHS, _RASTRIGIN_LOWS),
            ]
        ),
    ),
    Surface(
        name="ackley",
        title="Ackley",
        description="A nearly flat, rippled plain around one deep, sharp hole at the origin. "
        "Its 120 local minima sit close to the integer points; they have no closed form, so "
        "they were found by Newton's method from those points.",
        formula="−20exp(−0.2√(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20",
        fn=ackley,
        domain=Domain((-5.0, 5.0), (-5.0, 5.0)),
        default_start=(3.0, 2.5),
        minima=_minima("global", [(0.0, 0.0)]) + _minima("local", _ackley_local_minima()),
        saddles=(),
    ),
    Surface(
        name="sharp_flat",
        title="Sharp & flat minima",
        description="Two wells of nearly the same depth on a gentle bowl: a wide, flat one at "
        "(−1.05, 0) and a narrow, sharp one at (1.49, 0), 2% shallower, whose largest Hessian "
        "eigenvalue (42.3) is 54 times the flat one's (0.79). The sharp well is nearest the "
        f"default start, so SGD (lr {SHARP_FLAT_LR}, momentum {SHARP_FLAT_MOMENTUM}) falls in "
        f"and stays: there lr·λ = {SHARP_FLAT_LR * 42.33:.2f}, well inside momentum SGD's "
        f"bound 2(1 + β) = {2 * (1 + SHARP_FLAT_MOMENTUM):.1f}. SAM with the same settings and "
        f"rho {SHARP_FLAT_RHO} takes each step with the gradient from a point rho uphill, high "
        "on the sharp well's steep wall, so it swings across the well a few times, is thrown "
        "out over the rim and settles in the flat one, where looking rho uphill hardly changes "
        "the gradient. "
        "Neither method compares depths; SAM's choice is flatness. With a smaller lr or rho "
        "SAM stays in the sharp well too, or stalls on the saddle at its rim.",
        formula="0.05(x² + y²) − exp(−((x + 1.2)² + y²)/2.88) − 0.95·exp(−((x − 1.5)² + y²)/0.045)",
        fn=sharp_flat,
        domain=Domain((-3.0, 3.0), (-2.0, 2.0)),
        default_start=SHARP_FLAT_START,
        minima=_minima("global", [_SHARP_FLAT_FLAT]) + _minima("local", [_SHARP_FLAT_SHARP]),
        saddles=_saddles([_SHARP_FLAT_SADDLE]),
    ),
]

SURFACES: dict[str, Surface] = {s.name: s for s in _all}


def get_surface(name: str) -> Surface:
    try:
        return SURFACES[name]
    except KeyError:
        raise UnknownSurface(name) from None
