from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from losslab import engine
from losslab.errors import InvalidInput
from losslab.landscapes.network import (
    DATASETS,
    NetworkSurface,
    NetworkTraining,
    _pca_plane,
    init_theta,
    make_dataset,
    plane_surface,
    train_network,
)
from losslab.optimizers import get_optimizer

each_dataset = pytest.mark.parametrize("dataset", DATASETS)
each_dtype = pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)


def reference_mlp(theta: Tensor) -> nn.Sequential:
    """The network as a plain nn.Module, its weights loaded with torch's own utility."""
    module = nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)
    ).to(theta.dtype)
    with torch.no_grad():
        vector_to_parameters(theta, module.parameters())
    return module


def reference_loss(theta: Tensor, x: Tensor, labels: Tensor) -> Tensor:
    with torch.no_grad():
        loss: Tensor = nn.CrossEntropyLoss()(reference_mlp(theta)(x.to(theta.dtype)), labels)
    return loss


def moons(directions: str = "random") -> NetworkSurface:
    return plane_surface("moons", 0, directions)


@each_dataset
def test_datasets_are_balanced_and_deterministic_per_seed(dataset: str) -> None:
    x, labels = make_dataset(dataset, seed=3)
    assert x.shape == (300, 2) and x.dtype == torch.float32
    assert labels.shape == (300,) and labels.dtype == torch.int64
    assert labels.bincount().tolist() == [150, 150]
    again, again_labels = make_dataset(dataset, seed=3)
    assert torch.equal(x, again) and torch.equal(labels, again_labels)
    assert not torch.equal(x, make_dataset(dataset, seed=4)[0])
    assert make_dataset(dataset, seed=3, n=301)[1].bincount().tolist() == [150, 151]


@each_dtype
def test_plane_is_the_loss_of_the_module_with_weights_moved_along_d1_and_d2(
    dtype: torch.dtype,
) -> None:
    plane = moons().plane
    theta, (d1, d2) = plane.origin.to(dtype), plane.basis.to(dtype)
    origin = plane(torch.zeros(2, dtype=dtype))
    assert origin.dtype == dtype
    assert torch.allclose(origin, reference_loss(theta, plane.x, plane.labels))
    for a, b in [(0.3, -0.7), (-0.9, 0.05)]:
        moved = reference_loss(theta + a * d1 + b * d2, plane.x, plane.labels)
        assert torch.allclose(plane(torch.tensor([a, b], dtype=dtype)), moved)


def test_grid_and_batched_gradients_equal_single_point_evaluations() -> None:
    surface = moons()
    xs, ys, z = surface.grid(17)
    cells = torch.randint(0, 17, (6, 2), generator=torch.Generator().manual_seed(0))
    for i, j in cells.tolist():
        single = surface.fn(torch.stack([xs[j], ys[i]]))
        assert torch.allclose(z[i, j], single, rtol=1e-12, atol=0)
    points = torch.tensor([[0.2, -0.4], [0.7, 0.1], [-0.3, 0.9]], requires_grad=True)
    surface.fn(points).sum().backward()
    assert points.grad is not None
    for point, grad in zip(points.detach(), points.grad, strict=True):
        p = point.clone().requires_grad_()
        surface.fn(p).backward()
        assert p.grad is not None and torch.allclose(grad, p.grad, atol=1e-6)


def test_random_directions_are_filter_normalized_with_fixed_biases() -> None:
    plane = moons().plane
    trained = reference_mlp(plane.origin)
    for direction in plane.basis:
        moved = reference_mlp(direction)
        for (name, d), w in zip(moved.named_parameters(), trained.parameters(), strict=True):
            if name.endswith("bias"):
                assert torch.count_nonzero(d) == 0
            else:
                assert torch.allclose(d.norm(dim=1), w.norm(dim=1))
    assert not torch.allclose(plane.basis[0], plane.basis[1])


def test_pca_plane_is_orthonormal_and_holds_the_path_of_training() -> None:
    surface = moons("pca")
    basis = surface.plane.basis
    assert torch.allclose(basis @ basis.T, torch.eye(2), atol=1e-5)
    first, second = surface.explained_variance
    assert 0 < second <= first and first + second <= 1
    assert surface.path[-1] == (0.0, 0.0)
    assert surface.default_start == surface.path[0]
    (alo, ahi), (blo, bhi) = surface.domain.x, surface.domain.y
    assert all(alo < a < ahi and blo < b < bhi for a, b in surface.path)


def test_pca_plane_centres_the_trajectory_as_sklearn_pca_does() -> None:
    """Against numpy: the eigenvectors of the trajectory's covariance (rows θ_t − θ_T about
    their mean) and their share of its trace, which is what sklearn's PCA answers; the path
    is projected without centring, so θ_T sits at (0, 0)."""
    generator = torch.Generator().manual_seed(3)
    # A drifting, curving walk in 12 dimensions: its offsets from the end have a large mean.
    steps = torch.randn(40, 12, generator=generator, dtype=torch.float64) * 0.1
    steps[:, 0] += 1.0
    steps[:, 1] += torch.linspace(-1, 1, 40, dtype=torch.float64)
    thetas = torch.cumsum(steps, dim=0)
    basis, coords, explained = _pca_plane(thetas, thetas[-1])

    offsets = (thetas - thetas[-1]).numpy()
    centred = offsets - offsets.mean(axis=0)
    variances, vectors = np.linalg.eigh(centred.T @ centred / (len(offsets) - 1))
    order = np.argsort(variances)[::-1][:2]
    expected = vectors[:, order].T
    for found, want in zip(basis.numpy(), expected, strict=True):
        assert abs(float(found @ want)) == pytest.approx(1.0, abs=1e-9)  # same line
    assert explained == pytest.approx(list(variances[order] / variances.sum()), rel=1e-9)
    assert torch.allclose(coords, (thetas - thetas[-1]) @ basis.T)
    assert coords[-1].tolist() == [0.0, 0.0]
    assert coords[0, 0] <= 0 and coords[0, 1] <= 0
    # Without centring the first direction would be the mean offset's, not the spread's.
    uncentred = np.linalg.svd(offsets, full_matrices=False)[2][0]
    assert abs(float(basis[0].numpy() @ uncentred)) < 0.999


def test_marked_minimum_is_near_the_trained_weights_and_lowest_on_the_grid() -> None:
    surface = moons()
    (minimum,) = surface.minima
    assert math.hypot(minimum.x, minimum.y) < 0.05
    _, _, z = surface.grid(41)
    assert surface.loss_at(minimum.x, minimum.y) <= float(z.min())
    assert surface.loss_at(minimum.x, minimum.y) <= surface.loss_at(0.0, 0.0)


@each_dtype
def test_torch_adam_descends_the_plane(dtype: torch.dtype) -> None:
    config = engine.make_config(
        surface=moons(),
        optimizer="Adam",
        hyperparameters={"lr": 0.02},
        steps=150,
        dtype="float32" if dtype == torch.float32 else "float64",
    )
    status, frames, summary = engine.run(config)
    assert status != "diverged"
    losses = [frame["loss"] for frame in frames]
    assert all(math.isfinite(v) for v in losses)
    assert summary.final_loss < losses[0] / 50


def test_evaluations_in_concurrent_threads_do_not_interfere() -> None:
    plane = moons().plane
    points = torch.rand(8, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    expected = [plane(p).item() for p in points]
    results: dict[int, list[list[float]]] = {}

    def work(k: int) -> None:
        results[k] = [[plane(p).item() for p in points] for _ in range(10)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(found == expected for rounds in results.values() for found in rounds)


def reference_training(steps: int, lr: float) -> list[Tensor]:
    """θ_0 … θ_T of the plain torch loop: full-batch Adam on moons from init_theta(0)."""
    x, labels = make_dataset("moons", 0)
    model = reference_mlp(init_theta(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    thetas = [parameters_to_vector(model.parameters()).detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        nn.CrossEntropyLoss()(model(x), labels).backward()
        optimizer.step()
        thetas.append(parameters_to_vector(model.parameters()).detach().clone())
    return thetas


def test_training_matches_the_torch_loop_and_its_own_pca_plane() -> None:
    steps, lr = 40, 0.01
    result = train_network("moons", 0, get_optimizer("Adam"), {"lr": lr}, steps, resolution=9)
    thetas = reference_training(steps, lr)
    x, labels = make_dataset("moons", 0)
    expected = [reference_loss(theta, x, labels).item() for theta in thetas]
    assert result.losses == pytest.approx(expected, rel=1e-5)
    assert result.losses[-1] < result.losses[0] / 2
    assert result.status == "max_steps" and result.steps_taken == steps
    assert len(result.path_a) == len(result.path_b) == len(result.accuracy) == steps + 1
    assert (result.path_a[-1], result.path_b[-1]) == (0.0, 0.0)
    # PCA by hand: directions of θ_t − θ_T about their mean (as sklearn's PCA in Li et al.'s
    # code), signed so that the path starts at a, b ≤ 0; the path itself is not centred.
    final = thetas[-1].double()
    m = torch.stack(thetas).double() - final
    basis = torch.linalg.svd(m - m.mean(dim=0), full_matrices=False).Vh[:2]
    basis *= torch.where(m[0] @ basis.T > 0, -1.0, 1.0)[:, None]
    coords = m @ basis.T
    assert torch.allclose(torch.tensor(result.path_a, dtype=torch.float64), coords[:, 0], atol=1e-4)
    assert torch.allclose(torch.tensor(result.path_b, dtype=torch.float64), coords[:, 1], atol=1e-4)
    # Plotly's orientation: z[i][j] is the loss at a = x[j], b = y[i].
    for i, j in [(0, 8), (3, 5), (8, 1)]:
        theta = final + result.x[j] * basis[0] + result.y[i] * basis[1]
        assert result.z[i][j] == pytest.approx(reference_loss(theta, x, labels).item(), rel=1e-4)
    assert max(result.path_a) < result.x[-1] and min(result.path_a) > result.x[0]


def train(**overrides: Any) -> NetworkTraining:
    args: dict[str, Any] = {
        "dataset": "spirals",
        "seed": 0,
        "optimizer": get_optimizer("SGD"),
        "hyperparameters": {"lr": 0.1, "momentum": 0.9},
        "steps": 30,
        "resolution": 5,
    } | overrides
    return train_network(**args)


def test_training_is_reproducible_and_leaves_the_global_rng_alone() -> None:
    state = torch.get_rng_state()
    first = train(batch_size=32)
    assert torch.equal(torch.get_rng_state(), state)
    assert train(batch_size=32) == first
    other_batches = train(batch_size=32, init_seed=1)
    assert other_batches.path_a != first.path_a
    full_batch = train()
    assert full_batch.losses != first.losses and full_batch.losses[0] == first.losses[0]


def test_a_diverging_run_stops_at_the_last_finite_state() -> None:
    result = train(optimizer=get_optimizer("SGD"), hyperparameters={"lr": 1e6}, steps=20)
    assert result.status == "diverged" and result.steps_taken < 20
    assert len(result.losses) == len(result.path_a) == result.steps_taken + 1
    numbers = [*result.losses, *result.path_a, *result.path_b, *result.x, *result.y]
    numbers += [v for row in result.z for v in row if v is not None]
    assert all(math.isfinite(v) for v in numbers)


BAD: list[tuple[str, Callable[[], object], tuple[str | int, ...]]] = [
    ("dataset", lambda: plane_surface("circles"), ("dataset",)),
    ("directions", lambda: plane_surface("moons", 0, "hessian"), ("directions",)),
    ("seed", lambda: plane_surface("moons", -1), ("seed",)),
    ("make_dataset", lambda: make_dataset("blobs"), ("dataset",)),
    ("steps", lambda: train(steps=0), ("steps",)),
    ("too_many_steps", lambda: train(steps=10**6), ("steps",)),
    ("batch_size", lambda: train(batch_size=0), ("batch_size",)),
    ("batch_size_above_n", lambda: train(batch_size=301), ("batch_size",)),
    ("resolution", lambda: train(resolution=1), ("resolution",)),
    ("init_seed", lambda: train(init_seed=-2), ("init_seed",)),
    ("train_dataset", lambda: train(dataset="xor"), ("dataset",)),
    ("lr", lambda: train(hyperparameters={"lr": -1.0}), ("hyperparameters", "lr")),
    ("muon", lambda: train(optimizer=get_optimizer("Muon"), hyperparameters={}), ("optimizer",)),
]


@pytest.mark.parametrize(("call", "loc"), [(c, loc) for _, c, loc in BAD], ids=[b[0] for b in BAD])
def test_bad_inputs_name_their_field(
    call: Callable[[], object], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(InvalidInput) as raised:
        call()
    assert raised.value.loc == loc
