from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from losslab.calculus import suggested_lr
from losslab.errors import InvalidInput
from losslab.landscapes.surfaces import (
    FOUR_WELLS_ESCAPE_LR,
    SURFACES,
    Surface,
    UnknownSurface,
    get_surface,
)
from losslab.web.service import surfaces_out

ALL = list(SURFACES.values())
NAMES = list(SURFACES)
WITH_MINIMA = [s for s in ALL if s.minima]
REQUIRED = {
    "bowl",
    "elliptic",
    "saddle",
    "monkey_saddle",
    "four_wells",
    "rosenbrock",
    "himmelblau",
    "rastrigin",
    "ackley",
    "beale",
    "six_hump_camel",
}
FLOAT32_EPS = torch.finfo(torch.float32).eps

each_surface = pytest.mark.parametrize("surface", ALL, ids=NAMES)
each_surface_with_minima = pytest.mark.parametrize(
    "surface", WITH_MINIMA, ids=[s.name for s in WITH_MINIMA]
)
each_dtype = pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)


def critical_points(surface: Surface) -> Tensor:
    """Minima first, then saddles, as float64 rows (x, y)."""
    points = [(m.x, m.y) for m in surface.minima] + [(s.x, s.y) for s in surface.saddles]
    return torch.tensor(points, dtype=torch.float64).reshape(-1, 2)


def gradient_and_hessian(surface: Surface, points: Tensor) -> tuple[Tensor, Tensor]:
    p = points.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(surface(p).sum(), p, create_graph=True)
    rows = [torch.autograd.grad(g[:, i].sum(), p, retain_graph=True)[0] for i in (0, 1)]
    return g.detach(), torch.stack(rows, dim=-2)


def ring(surface: Surface, x: float, y: float) -> Tensor:
    """Losses on a small circle around (x, y), for points where the Hessian says nothing."""
    angles = torch.linspace(0, 2 * math.pi, 65, dtype=torch.float64)[:-1]
    circle = torch.stack([x + 1e-3 * angles.cos(), y + 1e-3 * angles.sin()], dim=-1)
    with torch.no_grad():
        return surface(circle)


def test_registry_holds_the_teaching_surfaces() -> None:
    assert set(SURFACES) >= REQUIRED
    assert all(key == surface.name for key, surface in SURFACES.items())
    assert get_surface("rosenbrock") is SURFACES["rosenbrock"]


def test_unknown_surface_names_the_choices() -> None:
    with pytest.raises(UnknownSurface) as caught:
        get_surface("nope")
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.loc == ("surface",)
    assert "'nope'" in caught.value.message
    assert all(name in caught.value.message for name in SURFACES)


@each_surface
def test_points_and_start_lie_inside_the_domain(surface: Surface) -> None:
    (x_lo, x_hi), (y_lo, y_hi) = surface.domain.x, surface.domain.y
    points = [*critical_points(surface).tolist(), list(surface.default_start)]
    for x, y in points:
        assert x_lo < x < x_hi and y_lo < y < y_hi, (x, y)


@each_surface
def test_gradient_vanishes_at_critical_points_in_float64(surface: Surface) -> None:
    gradient, _ = gradient_and_hessian(surface, critical_points(surface))
    assert gradient.norm(dim=-1).max().item() < 1e-8


@each_surface
def test_gradient_vanishes_at_critical_points_in_float32(surface: Surface) -> None:
    points = critical_points(surface)
    _, hessian = gradient_and_hessian(surface, points)
    gradient, _ = gradient_and_hessian(surface, points.float())
    # Rounding a point to float32 moves it by about eps * |p|, which moves the gradient by the
    # Hessian times that; evaluating in float32 adds a few eps of the terms' own size.
    curvature = torch.linalg.matrix_norm(hessian.nan_to_num(0.0), ord=2)
    scale = (1 + points.abs().amax(dim=-1)) * (1 + curvature)
    assert (gradient.double().norm(dim=-1) <= 16 * FLOAT32_EPS * scale).all()


@each_surface
def test_hessian_signature_matches_the_kind_of_point(surface: Surface) -> None:
    points = critical_points(surface)
    _, hessian = gradient_and_hessian(surface, points)
    n_minima = len(surface.minima)
    for index, (x, y) in enumerate(points.tolist()):
        center = surface.loss_at(x, y)
        finite = bool(hessian[index].isfinite().all())
        low, high = torch.linalg.eigvalsh(hessian[index]).tolist() if finite else (0.0, 0.0)
        tol = 1e-9 * max(abs(low), abs(high))
        if index < n_minima:
            if low > tol:
                continue  # positive definite
            # positive semidefinite, or degenerate (Ackley's kink): the neighbourhood decides
            assert low >= -tol, (x, y, low, high)
            assert (ring(surface, x, y) >= center).all(), (x, y)
        elif abs(low) > tol and abs(high) > tol:
            assert low < 0 < high, (x, y, low, high)
        else:  # degenerate saddle (the monkey saddle's Hessian is zero): go up and down around it
            values = ring(surface, x, y)
            assert (values > center).any() and (values < center).any(), (x, y)


@each_surface_with_minima
def test_global_minima_are_the_lowest_points(surface: Surface) -> None:
    best = [surface.loss_at(m.x, m.y) for m in surface.minima if m.kind == "global"]
    others = [surface.loss_at(m.x, m.y) for m in surface.minima if m.kind == "local"]
    assert best, "a surface with minima names its global one"
    assert max(best) - min(best) <= 1e-12 * (1 + abs(min(best)))
    assert all(value > max(best) for value in others)
    _, _, z = surface.grid(400)
    assert z.min().item() >= min(best) - 1e-9 * (1 + abs(min(best)))


@each_surface
@each_dtype
def test_grid_is_plotly_oriented(surface: Surface, dtype: torch.dtype) -> None:
    xs, ys, z = surface.grid(9, dtype=dtype)
    assert xs.shape == ys.shape == (9,)
    assert z.shape == (9, 9) and z.dtype == dtype and not z.requires_grad
    assert (xs[0].item(), xs[-1].item()) == pytest.approx(surface.domain.x)
    assert (ys[0].item(), ys[-1].item()) == pytest.approx(surface.domain.y)
    for i in (0, 3, 8):
        for j in (1, 5, 8):
            expected = surface.loss_at(xs[j].item(), ys[i].item())
            assert z[i, j].item() == pytest.approx(expected, rel=1e-5, abs=1e-5)


@each_surface
@each_dtype
def test_fn_takes_any_leading_batch_shape(surface: Surface, dtype: torch.dtype) -> None:
    generator = torch.Generator().manual_seed(0)
    points = torch.rand(3, 4, 2, generator=generator, dtype=dtype) * 2 - 1
    batched = surface(points)
    assert batched.shape == (3, 4) and batched.dtype == dtype
    torch.testing.assert_close(surface(points.reshape(12, 2)), batched.reshape(12))
    single = points[1, 2].clone().requires_grad_(True)
    loss = surface(single)
    loss.backward()
    assert loss.shape == () and single.grad is not None and single.grad.isfinite().all()
    torch.testing.assert_close(loss.detach(), batched[1, 2])


def test_elliptic_is_ill_conditioned() -> None:
    surface = get_surface("elliptic")
    _, hessian = gradient_and_hessian(surface, critical_points(surface))
    low, high = torch.linalg.eigvalsh(hessian[0]).tolist()
    assert high / low >= 25


def test_bowl_reproduces_the_reference_sgd_step() -> None:
    p = torch.tensor(get_surface("bowl").default_start, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.1)
    get_surface("bowl")(p).backward()
    optimizer.step()
    assert p.tolist() == [2.4000000953674316, 1.600000023841858]


@each_dtype
def test_ackley_kink_at_the_origin_gives_finite_gradients(dtype: torch.dtype) -> None:
    surface = get_surface("ackley")
    for optimizer_class in (torch.optim.SGD, torch.optim.Adam):
        p = torch.zeros(2, dtype=dtype, requires_grad=True)
        optimizer = optimizer_class([p], lr=0.1)
        for _ in range(3):
            optimizer.zero_grad()
            surface(p).backward()
            assert p.grad is not None and p.grad.isfinite().all()
            optimizer.step()
        assert p.isfinite().all()


def descend(surface: Surface, lr: float, momentum: float, dtype: torch.dtype) -> Tensor:
    p = torch.tensor(surface.default_start, dtype=dtype, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=lr, momentum=momentum)
    for _ in range(500):
        optimizer.zero_grad()
        surface(p).backward()
        optimizer.step()
    return p.detach().double()


@each_dtype
@pytest.mark.parametrize("lr_factor", [0.8, 1.0, 1.2])
def test_momentum_escapes_the_shallow_well(dtype: torch.dtype, lr_factor: float) -> None:
    surface = get_surface("four_wells")
    minima = critical_points(surface)[: len(surface.minima)]

    def settled_in(end: Tensor) -> tuple[str, float]:
        distances = (minima - end).norm(dim=-1)
        assert distances.min().item() < 1e-3, f"{end.tolist()} is not in a well"
        minimum = surface.minima[int(distances.argmin())]
        return minimum.kind, surface.loss_at(minimum.x, minimum.y)

    lr = FOUR_WELLS_ESCAPE_LR * lr_factor
    plain_kind, plain_loss = settled_in(descend(surface, lr, momentum=0.0, dtype=dtype))
    _, momentum_loss = settled_in(descend(surface, lr, momentum=0.9, dtype=dtype))
    assert plain_kind == "local"
    assert momentum_loss < plain_loss


def test_ackley_lists_one_local_minimum_near_each_integer_point() -> None:
    surface = get_surface("ackley")
    local = [(m.x, m.y) for m in surface.minima if m.kind == "local"]
    lattice = {(a, b) for a in range(-5, 6) for b in range(-5, 6)} - {(0, 0)}
    assert {(round(x), round(y)) for x, y in local} == lattice and len(local) == len(lattice)
    assert all(math.dist((x, y), (round(x), round(y))) < 0.05 for x, y in local)

    # Independently on the axis y = 0 (a mirror line, so the minimum near (1, 0) lies on it):
    # f(x, 0) = −20·exp(−0.2·x/√2) − exp((cos 2πx + 1)/2) + e + 20 for x > 0, whose derivative
    # 2√2·exp(−0.2·x/√2) + π·sin(2πx)·exp((cos 2πx + 1)/2) changes sign once near x = 1.
    def slope(x: float) -> float:
        waves = math.exp((math.cos(2 * math.pi * x) + 1) / 2)
        return (
            2 * math.sqrt(2) * math.exp(-0.2 * x / math.sqrt(2))
            + math.pi * math.sin(2 * math.pi * x) * waves
        )

    lo, hi = 0.8, 1.2
    assert slope(lo) < 0 < slope(hi)
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if slope(mid) < 0 else (lo, mid)
    x, y = min(local, key=lambda p: math.dist(p, (1.0, 0.0)))
    assert x == pytest.approx(lo, abs=1e-12) and abs(y) < 1e-12


def test_the_suggested_lr_sits_inside_the_stability_bound() -> None:
    """sharpness is the largest Hessian eigenvalue at the start and the global minima; the
    suggested lr (1/λ, one significant figure, rounded down) stays inside 2/λ."""
    answer = {s["name"]: s for s in surfaces_out()}
    assert answer["bowl"]["sharpness"] == pytest.approx(2.0)
    assert answer["bowl"]["suggested_lr"] == 0.5
    assert answer["elliptic"]["sharpness"] == pytest.approx(25.0)
    assert answer["elliptic"]["suggested_lr"] == 0.04
    rosenbrock = answer["rosenbrock"]
    h = torch.tensor([[1330.0, 480.0], [480.0, 200.0]])  # the Hessian at (-1.2, 1)
    assert rosenbrock["sharpness"] == pytest.approx(float(torch.linalg.eigvalsh(h).max()))
    assert rosenbrock["suggested_lr"] == 0.0006
    for surface in answer.values():
        if surface["sharpness"] is not None:
            assert 0 < surface["suggested_lr"] * surface["sharpness"] <= 1
    assert suggested_lr(None) is None and suggested_lr(1001.6) == 0.0009
