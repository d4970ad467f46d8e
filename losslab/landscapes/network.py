"""A small network's loss on a plane through its trained weights (Li et al., 2018).

An MLP 2-16-16-2 with ReLU learns a generated two-class data set; its cross-entropy loss on
the plane θ(a, b) = θ* + a·d1 + b·d2 is an ordinary Surface over (a, b), so torch.optim
optimizers move (a, b) on the network's real loss. One point is one `functional_call` of the
network with autograd flowing back to (a, b); a grid is the same call under `torch.func.vmap`.

d1 and d2 are either random Gaussian directions, filter-normalized to the weights (each row
of a weight matrix scaled to that row's norm in θ*, bias directions zero), or the top two
principal directions of the training trajectory that produced θ*.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal, cast

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap
from torch.nn import functional as F
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from torch.utils.data import DataLoader, TensorDataset

from ..calculus import gradient_and_hessian
from ..config import Settings, get_settings
from ..errors import InvalidInput
from ..optimizers import LIBRARY_ERRORS, OptimizerSpec, blame_hyperparameters, get_optimizer
from ..randomness import RunRandomness
from .surfaces import Domain, Minimum, Surface

DATASETS = ("moons", "spirals")
DIRECTIONS = ("random", "pca")
WIDTHS = (2, 16, 16, 2)
N_POINTS = 300
# θ*: full-batch Adam from the seeded init; enough steps for ~100% training accuracy.
STAR_OPTIMIZER, STAR_HYPERPARAMETERS, STAR_STEPS = "Adam", {"lr": 0.01}, 500
MAX_SEED = 2**63 - 1
# Points per vmap chunk: (chunk, points, 16) activations stay small enough to be fast.
GRID_CHUNK = 128
PCA_MARGIN = 0.2

Status = Literal["max_steps", "diverged"]


class NetworkError(InvalidInput):
    """A value a network plane or training run cannot use; `loc` names the field."""


class UnknownDataset(NetworkError):
    def __init__(self, name: str) -> None:
        super().__init__(("dataset",), f"Unknown dataset {name!r}; choose one of: moons, spirals")
        self.name = name


class UnknownDirections(NetworkError):
    def __init__(self, name: str) -> None:
        super().__init__(
            ("directions",), f"Unknown directions {name!r}; choose one of: random, pca"
        )
        self.name = name


def _seeded(seed: int, purpose: str) -> torch.Generator:
    """A generator for one purpose: data, init, directions and batch order draw independent
    streams from one seed (seeding all with `seed` itself would correlate them)."""
    digest = hashlib.sha256(f"{purpose}:{seed}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))


def _check_whole(value: object, loc: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise NetworkError((loc,), f"{loc} must be a whole number between {lo} and {hi}")
    return value


def make_dataset(name: str, seed: int = 0, n: int = N_POINTS) -> tuple[Tensor, Tensor]:
    """X (n, 2) float32 centred near the origin and labels (n,) int64: n // 2 of class 0."""
    if name not in DATASETS:
        raise UnknownDataset(name)
    _check_whole(seed, "seed", 0, MAX_SEED)
    _check_whole(n, "n", 2, 10_000)
    g = _seeded(seed, "data")
    sizes = (n // 2, n - n // 2)
    if name == "moons":
        t = [torch.rand(k, generator=g) * math.pi for k in sizes]
        upper = torch.stack([t[0].cos() - 0.5, t[0].sin() - 0.25], dim=1)
        lower = torch.stack([0.5 - t[1].cos(), 0.25 - t[1].sin()], dim=1)
        points, noise = torch.cat([upper, lower]), 0.15
    else:
        # One turn per arm; sqrt spreads the points evenly over the disc's area.
        arms = []
        for arm, k in enumerate(sizes):
            r = torch.rand(k, generator=g).sqrt()
            angle = 2 * math.pi * r + arm * math.pi
            arms.append(torch.stack([r * angle.cos(), r * angle.sin()], dim=1))
        points, noise = torch.cat(arms), 0.06
    x = points + noise * torch.randn(n, 2, generator=g)
    labels = torch.cat([torch.full((k,), c, dtype=torch.int64) for c, k in enumerate(sizes)])
    order = torch.randperm(n, generator=g)
    return x[order], labels[order]


def _mlp(theta: Tensor | None = None) -> nn.Sequential:
    """The network, with parameters `theta`, or on the meta device (no storage) for
    functional_call. Either way its construction draws nothing from the global RNG."""
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(WIDTHS):
        layers += [nn.Linear(fan_in, fan_out, device="meta"), nn.ReLU()]
    module = nn.Sequential(*layers[:-1])
    if theta is not None:
        module.to_empty(device=theta.device)
        vector_to_parameters(theta, module.parameters())
    return module


_LAYOUT = tuple((name, p.shape) for name, p in _mlp().named_parameters())
N_PARAMS = sum(shape.numel() for _, shape in _LAYOUT)


def _unflatten(theta: Tensor) -> dict[str, Tensor]:
    """The network's named parameters as views of a flat vector, in `parameters()` order."""
    pieces = theta.split([shape.numel() for _, shape in _LAYOUT])
    return {
        name: piece.reshape(shape) for (name, shape), piece in zip(_LAYOUT, pieces, strict=True)
    }


def init_theta(seed: int) -> Tensor:
    """nn.Linear's default init, U(±1/√fan_in) for weights and biases, from a private
    generator: the global RNG is shared by every request of the server."""
    g = _seeded(seed, "init")
    parts = []
    for fan_in, fan_out in itertools.pairwise(WIDTHS):
        for count in (fan_out * fan_in, fan_out):  # weight, then bias: parameters() order
            parts.append((torch.rand(count, generator=g) * 2 - 1) / math.sqrt(fan_in))
    return torch.cat(parts)


_threads = threading.local()


def _module() -> nn.Module:
    """This thread's network. functional_call swaps tensors into the module while it runs,
    so runs in the server's worker threads must not share one. Built outside vmap's trace."""
    module: nn.Module | None = getattr(_threads, "module", None)
    if module is None:
        module = _threads.module = _mlp()
    return module


def _network_loss(theta: Tensor, x: Tensor, labels: Tensor) -> Tensor:
    """nn.CrossEntropyLoss (mean) of the network with flat parameters `theta` on (x, labels)."""
    return F.cross_entropy(functional_call(_module(), _unflatten(theta), (x,)), labels)


class PlaneLoss:
    """L(origin + a·d1 + b·d2) for points (..., 2), with `basis` the rows d1, d2: autograd
    flows to the points."""

    def __init__(self, origin: Tensor, basis: Tensor, x: Tensor, labels: Tensor) -> None:
        self.origin, self.basis, self.x, self.labels = origin, basis, x, labels
        # Engine runs use float32 or float64 and grids float64: cast once, not every step.
        self._cast = {dtype: self._tensors(dtype) for dtype in (torch.float32, torch.float64)}

    def _tensors(self, dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor]:
        return self.origin.to(dtype), self.basis.to(dtype), self.x.to(dtype)

    def point(self, p: Tensor) -> Tensor:
        """The loss at one point (2,)."""
        origin, basis, x = self._cast.get(p.dtype) or self._tensors(p.dtype)
        return _network_loss(origin + p @ basis, x, self.labels)

    def __call__(self, p: Tensor) -> Tensor:
        _module()  # created here, not inside vmap
        if p.shape == (2,):
            return self.point(p)
        flat = p.reshape(-1, 2)
        if flat.shape[0] == 0:
            return p.new_zeros(p.shape[:-1])
        return vmap(self.point, chunk_size=GRID_CHUNK)(flat).reshape(p.shape[:-1])


@dataclass(frozen=True, eq=False)
class NetworkSurface(Surface):
    """A Surface whose `fn` is a PlaneLoss, with what produced it."""

    dataset: str = "moons"
    seed: int = 0
    directions: str = "random"
    accuracy: float = 0.0
    """θ*'s accuracy on its training data."""
    training_seconds: float = 0.0
    explained_variance: tuple[float, ...] = ()
    """PCA only: the fraction of the trajectory's variance (about its mean) along d1 and d2."""
    path: tuple[tuple[float, float], ...] = ()
    """PCA only: the training trajectory of θ* projected on the plane."""

    @property
    def plane(self) -> PlaneLoss:
        """θ* (`origin`), d1 and d2 (`basis`) and the data (`x`, `labels`)."""
        assert isinstance(self.fn, PlaneLoss)
        return self.fn


@dataclass
class NetworkTraining:
    x: list[float]
    y: list[float]
    z: list[list[float | None]]
    """z[i][j] = L(a=x[j], b=y[i]), Plotly's orientation; None where not finite."""
    path_a: list[float]
    path_b: list[float]
    losses: list[float]
    accuracy: list[float]
    explained_variance: list[float]
    status: Status
    steps_taken: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Trace:
    thetas: Tensor
    """(steps_taken + 1, N_PARAMS): θ_0 … θ_T."""
    losses: list[float]
    accuracy: list[float]
    status: Status
    seconds: float


def _batches(
    x: Tensor, labels: Tensor, batch_size: int | None, seed: int
) -> Iterator[tuple[Tensor, Tensor]]:
    """The batch of every step, forever: the whole data set, or a seeded DataLoader's batches
    (a new shuffle every epoch)."""
    if batch_size is None:
        while True:
            yield x, labels
    generator = _seeded(seed, "batches")
    loader = DataLoader(
        TensorDataset(x, labels), batch_size=batch_size, shuffle=True, generator=generator
    )
    while True:
        yield from loader


def _train(
    x: Tensor,
    labels: Tensor,
    init: Tensor,
    spec: OptimizerSpec,
    hyperparameters: Mapping[str, Any],
    steps: int,
    batches: Iterator[tuple[Tensor, Tensor]],
    should_stop: Callable[[], bool] | None = None,
) -> _Trace:
    """The plain torch training loop on all weights, recording θ_t and the full-data loss
    and accuracy after every step; it stops before the first non-finite loss or weight."""
    start = time.perf_counter()
    model = _mlp(init)
    randomness = RunRandomness(needed=spec.source != "torch.optim")
    with randomness.active():
        optimizer = spec.create(model.parameters(), hyperparameters)
    thetas = torch.empty(steps + 1, N_PARAMS)
    losses: list[float] = []
    accuracy: list[float] = []
    status: Status = "max_steps"
    for step in range(steps + 1):
        if should_stop is not None and step % 16 == 0 and should_stop():
            raise TrainingStopped
        theta = parameters_to_vector(model.parameters()).detach()
        with torch.no_grad():
            logits = model(x)
            loss = F.cross_entropy(logits, labels).item()
        if not (math.isfinite(loss) and bool(theta.isfinite().all())):
            status = "diverged"
            break
        thetas[step] = theta
        losses.append(loss)
        accuracy.append((logits.argmax(dim=1) == labels).double().mean().item())
        if step == steps:
            break
        xb, yb = next(batches)

        @torch.enable_grad()  # optimizers call closures inside no_grad steps
        def closure(xb: Tensor = xb, yb: Tensor = yb) -> Tensor:
            optimizer.zero_grad()
            batch_loss = F.cross_entropy(model(xb), yb)
            batch_loss.backward()
            return batch_loss

        if spec.needs_closure:
            if spec.family == "sharpness":
                closure()  # SAM's first_step climbs along the gradient at the weights
            # torch types the closure as returning float; LBFGS takes float() of a tensor.
            with randomness.active():
                optimizer.step(cast(Callable[[], float], closure))
        else:
            closure()
            with randomness.active():
                optimizer.step()
    seconds = time.perf_counter() - start
    return _Trace(thetas[: len(losses)].clone(), losses, accuracy, status, seconds)


UNTRAINABLE_FAMILIES = {
    "hessian": "its Hutchinson probes need the gradient's graph (create_graph), which this "
    "training loop does not keep",
    "schedule_free": "its evaluation point (optimizer.eval()) is not what this loop records",
}
"""Optimizer families the MLP's training loop does not step as their authors document."""


def training_refusal(spec: OptimizerSpec) -> str | None:
    """Why `spec` cannot train the MLP here (None when it can)."""
    if spec.group_options:
        return "it needs parameter groups of its own (a flag per matrix)"
    return UNTRAINABLE_FAMILIES.get(spec.family)


class TrainingStopped(Exception):
    """should_stop() asked a training run to stop (time limit, or the client left)."""


def _check_torch_accepts(spec: OptimizerSpec, hyperparameters: Mapping[str, Any]) -> None:
    """One step on a scratch network, so torch's refusals become errors naming the field."""
    x, labels = torch.zeros(2, WIDTHS[0]), torch.zeros(2, dtype=torch.int64)

    def attempt(values: Mapping[str, Any]) -> None:
        _train(x, labels, torch.zeros(N_PARAMS), spec, values, 1, _batches(x, labels, None, 0))

    try:
        attempt({})
    except LIBRARY_ERRORS as bare:
        raise NetworkError(
            ("optimizer",), f"{spec.name} cannot train this network: {bare}"
        ) from None
    blame_hyperparameters(attempt, hyperparameters)


@lru_cache(maxsize=8)
def _trained(dataset: str, seed: int) -> _Trace:
    """θ*'s training, once per (dataset, seed): the same loop train_network runs."""
    x, labels = make_dataset(dataset, seed)
    spec = get_optimizer(STAR_OPTIMIZER)
    batches = _batches(x, labels, None, seed)
    return _train(x, labels, init_theta(seed), spec, STAR_HYPERPARAMETERS, STAR_STEPS, batches)


def _filter_normalized(direction: Tensor, theta: Tensor) -> Tensor:
    """Each weight row (one output neuron's filter) of `direction` rescaled to the norm of the
    same row of `theta`; biases zero, as Li et al. do."""
    out = torch.zeros_like(direction)
    rows, norms = _unflatten(direction), _unflatten(theta)
    for name, target in _unflatten(out).items():
        if name.endswith("weight"):
            d, w = rows[name], norms[name]
            target.copy_(d / d.norm(dim=1, keepdim=True) * w.norm(dim=1, keepdim=True))
    return out


def _pca_plane(thetas: Tensor, centre: Tensor) -> tuple[Tensor, Tensor, list[float]]:
    """The top two principal directions (2, N_PARAMS) of the trajectory's offsets θ_t − centre,
    the path's coordinates (T + 1, 2) along them and their explained variance ratios.

    As in Li et al.'s code (`setup_PCA_directions`, which fits sklearn's PCA to the rows
    θ_t − θ_final), the directions come from the matrix centred on its mean row, and the
    ratios are each direction's share of the centred matrix's total variance. The path is
    projected without centring (their `project_trajectory`), so `centre` sits at (0, 0).
    Signs are fixed so the path starts at a ≤ 0 and b ≤ 0: it then travels towards +a, +b.
    """
    m = (thetas - centre).double()
    centred = m - m.mean(dim=0)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    if vh.shape[0] < 2:  # a one-point path (diverged at once): any orthonormal pair will do
        vh, s = torch.eye(m.shape[1], dtype=m.dtype)[:2], torch.zeros(2, dtype=m.dtype)
    basis = vh[:2]
    signs = torch.where(m[0] @ basis.T > 0, -1.0, 1.0).to(m.dtype)
    basis = basis * signs[:, None]
    total = float((s**2).sum())
    explained = [float(v) / total if total > 0 else 0.0 for v in s[:2] ** 2]
    return basis, m @ basis.T, explained


def _span(values: Tensor) -> tuple[float, float]:
    """[lo, hi] covering 0 and `values` with PCA_MARGIN of the width on each side."""
    lo, hi = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    pad = PCA_MARGIN * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def _pca_domain(coords: Tensor) -> Domain:
    (alo, ahi), (blo, bhi) = _span(coords[:, 0]), _span(coords[:, 1])
    # The second component is often much shorter: give b at least a quarter of a's width so
    # the plot shows the valley's cross-section, not a sliver.
    short = (ahi - alo) / 4 - (bhi - blo)
    if short > 0:
        blo, bhi = blo - short / 2, bhi + short / 2
    return Domain((alo, ahi), (blo, bhi))


def _lowest_point(
    fn: Callable[[Tensor], Tensor], domain: Domain, steps: int = 30
) -> tuple[Tensor, bool]:
    """The lowest point found from (0, 0) and from the lowest cell of a 41×41 grid by damped
    Newton steps in float64 (gradient steps where the Hessian is not positive definite),
    each step halved until the loss does not rise and kept within the domain; and whether it
    lies inside the domain, not on its edge (where the loss still falls outwards)."""
    lows = torch.tensor([domain.x[0], domain.y[0]], dtype=torch.float64)
    highs = torch.tensor([domain.x[1], domain.y[1]], dtype=torch.float64)
    xs = torch.linspace(*domain.x, 41, dtype=torch.float64)
    ys = torch.linspace(*domain.y, 41, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)
    with torch.no_grad():
        points = torch.stack([torch.zeros(2, dtype=torch.float64), grid[fn(grid).argmin()]])
        points = points.clamp(lows, highs)
        losses = fn(points)
    scale = float((highs - lows).max())
    for _ in range(steps):
        g, h = gradient_and_hessian(fn, points)
        newton = torch.linalg.eigvalsh(h)[:, 0] > 0
        safe = torch.where(newton[:, None, None], h, torch.eye(2, dtype=h.dtype))
        move = torch.where(
            newton[:, None],
            -torch.linalg.solve(safe, g),
            -0.05 * scale * g / g.norm(dim=1, keepdim=True).clamp_min(1e-300),
        )
        previous = points
        for _ in range(20):
            trial = (points + move).clamp(lows, highs)
            with torch.no_grad():
                trial_losses = fn(trial)
            better = trial_losses <= losses
            points = torch.where(better[:, None], trial, points)
            losses = torch.where(better, trial_losses, losses)
            if bool(better.all()):
                break
            move = torch.where(better[:, None], torch.zeros_like(move), move / 2)
        if float((points - previous).abs().max()) <= 1e-12 * scale:
            break
    best = points[losses.argmin()]
    edge = 1e-9 * scale
    inside = bool(((best - lows > edge) & (highs - best > edge)).all())
    return best, inside


def _check_choice(dataset: str, seed: int) -> None:
    if dataset not in DATASETS:
        raise UnknownDataset(dataset)
    _check_whole(seed, "seed", 0, MAX_SEED)


def plane_surface(
    dataset: str = "moons", seed: int = 0, directions: str = "random"
) -> NetworkSurface:
    """The loss of the MLP on `dataset` on a plane through its trained weights θ*."""
    _check_choice(dataset, seed)
    if directions not in DIRECTIONS:
        raise UnknownDirections(directions)
    return _plane_surface(dataset, seed, directions)


@lru_cache(maxsize=16)
def _plane_surface(dataset: str, seed: int, directions: str) -> NetworkSurface:
    x, labels = make_dataset(dataset, seed)
    trace = _trained(dataset, seed)
    theta = trace.thetas[-1]
    explained: list[float] = []
    path: tuple[tuple[float, float], ...] = ()
    if directions == "random":
        g = _seeded(seed, "directions")
        basis = torch.stack(
            [_filter_normalized(torch.randn(N_PARAMS, generator=g), theta) for _ in range(2)]
        )
        domain = Domain((-1.0, 1.0), (-1.0, 1.0))
        start = (0.6, 0.45)
        kind = (
            "two random Gaussian directions, filter-normalized: each weight row of d1 and d2 "
            "has the norm of the same row of θ*, and the biases stay fixed, so a = 1 moves "
            "every neuron's weights by as much as their own size"
        )
    else:
        basis64, coords, explained = _pca_plane(trace.thetas, theta)
        basis = basis64.float()
        domain = _pca_domain(coords)
        path = tuple((float(a), float(b)) for a, b in coords)
        start = path[0]
        kind = (
            "the top two principal directions of the training trajectory θ_t − θ* (orthonormal, "
            f"explaining {explained[0]:.0%} and {explained[1]:.0%} of its variance), so a and b "
            "are distances in weight space; the default start is where training began, projected"
        )
    fn = PlaneLoss(theta, basis, x, labels)
    low, inside = _lowest_point(fn, domain)
    minima = (Minimum(float(low[0]), float(low[1]), "global"),) if inside else ()
    if inside:
        about_minimum = (
            "The minimum marked is the lowest point Newton's method found from θ* and from the "
            "lowest grid cell; the plane is not convex, and its local minima are not searched."
        )
    else:
        about_minimum = (
            "No minimum is marked: the loss keeps falling past the edge of this view, the way "
            "training was heading (cross-entropy keeps rewarding larger weights once the points "
            "are classified, so θ* is not a minimum). Local minima are not searched."
        )
    accuracy = trace.accuracy[-1]
    return NetworkSurface(
        name="mlp_plane",
        title=f"MLP on {dataset}: a plane through trained weights ({directions} directions)",
        description=(
            f"The cross-entropy loss of an MLP 2-16-16-2 with ReLU on {len(x)} {dataset} "
            f"points, on the plane θ* + a·d1 + b·d2 through weights θ* trained by full-batch "
            f"{STAR_OPTIMIZER} (lr {STAR_HYPERPARAMETERS['lr']}) for {STAR_STEPS} steps "
            f"(training accuracy {accuracy:.0%}), after Li et al. (2018). d1 and d2 are {kind}. "
            f"θ* sits at (0, 0). {about_minimum}"
        ),
        formula="L(θ* + a·d1 + b·d2)",
        fn=fn,
        domain=domain,
        default_start=start,
        minima=minima,
        saddles=(),
        source="",
        dataset=dataset,
        seed=seed,
        directions=directions,
        accuracy=accuracy,
        training_seconds=trace.seconds,
        explained_variance=tuple(explained),
        path=path,
    )


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def train_network(
    dataset: str,
    seed: int,
    optimizer: OptimizerSpec,
    hyperparameters: Mapping[str, Any],
    steps: int,
    batch_size: int | None = None,
    resolution: int = 60,
    init_seed: int | None = None,
    *,
    limits: Settings | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> NetworkTraining:
    """Train all weights of the MLP with `optimizer` from the init of `init_seed` (default:
    `seed`, which also draws the data), then show the run on the PCA plane of its own
    trajectory around its final weights θ_T, with the loss grid of that plane.

    With `batch_size`, each step uses one batch of a DataLoader shuffled by a generator
    seeded from `init_seed`; losses and accuracy are always on the full data set.
    """
    _check_choice(dataset, seed)
    init_seed = seed if init_seed is None else _check_whole(init_seed, "init_seed", 0, MAX_SEED)
    limits = limits or get_settings()
    _check_whole(steps, "steps", 1, limits.max_network_steps)
    _check_whole(resolution, "resolution", 2, limits.max_network_resolution)
    x, labels = make_dataset(dataset, seed)
    if batch_size is not None:
        _check_whole(batch_size, "batch_size", 1, len(x))
    refusal = training_refusal(optimizer)
    if refusal is not None:
        raise NetworkError(("optimizer",), f"{optimizer.name} cannot train the MLP here: {refusal}")
    values = optimizer.coerce(hyperparameters)
    _check_torch_accepts(optimizer, values)
    batches = _batches(x, labels, batch_size, init_seed)
    trace = _train(x, labels, init_theta(init_seed), optimizer, values, steps, batches, should_stop)
    final = trace.thetas[-1]
    basis, coords, explained = _pca_plane(trace.thetas, final)
    domain = _pca_domain(coords)
    fn = PlaneLoss(final, basis.float(), x, labels)
    xs = torch.linspace(*domain.x, resolution, dtype=torch.float64)
    ys = torch.linspace(*domain.y, resolution, dtype=torch.float64)
    with torch.no_grad():  # float32 like the weights: twice as fast as float64
        z = fn(torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).float()).double()
    return NetworkTraining(
        x=xs.tolist(),
        y=ys.tolist(),
        z=[[_finite_or_none(v) for v in row] for row in z.tolist()],
        path_a=coords[:, 0].tolist(),
        path_b=coords[:, 1].tolist(),
        losses=trace.losses,
        accuracy=trace.accuracy,
        explained_variance=explained,
        status=trace.status,
        steps_taken=len(trace.losses) - 1,
    )
