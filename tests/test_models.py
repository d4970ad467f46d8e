"""Two-parameter models trained with batch, mini-batch and stochastic gradient descent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from losslab.engine import make_config, run
from losslab.landscapes.models import model_surface
from tests.conftest import strict_json


def plain_training(
    model: str, dataset: str, batch_size: int | None, seed: int, optimizer: str,
    hp: dict[str, Any], start: list[float], steps: int, shuffle: bool = True,
    loss: str | None = None, dtype: torch.dtype = torch.float32,
) -> list[tuple[list[float], float]]:  # fmt: skip
    """nn.Linear + nn.MSELoss/BCEWithLogitsLoss (or MSE on a sigmoid) + DataLoader: (w, b)
    and batch loss per step."""
    surface = model_surface(model, dataset, batch_size, seed)
    x, y = surface.data_x.to(dtype), surface.data_y.to(dtype)
    linear = nn.Linear(1, 1, dtype=dtype)
    with torch.no_grad():
        linear.weight.fill_(start[0])
        linear.bias.fill_(start[1])
    opt = getattr(torch.optim, optimizer)(linear.parameters(), **hp)
    loss = loss or ("mse" if model == "linear_regression" else "cross_entropy")
    loss_fn = nn.BCEWithLogitsLoss() if loss == "cross_entropy" else nn.MSELoss()
    squash = model == "logistic_regression" and loss == "mse"  # MSE on the sigmoid's output

    def batches() -> Iterator[Any]:
        if batch_size is None:
            while True:
                yield x, y
        loader = DataLoader(
            TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle,
            generator=torch.Generator().manual_seed(seed) if shuffle else None,
        )  # fmt: skip
        while True:
            yield from loader

    out = []
    data = batches()
    for _ in range(steps + 1):
        xb, yb = next(data)
        opt.zero_grad()
        prediction = linear(xb)
        batch_loss = loss_fn(torch.sigmoid(prediction) if squash else prediction, yb)
        batch_loss.backward()
        out.append(([linear.weight.item(), linear.bias.item()], batch_loss.item()))
        opt.step()
    return out


CASES = [
    ("linear_regression", "noisy_line", None, "SGD", {"lr": 0.05}),
    ("linear_regression", "noisy_line", 16, "SGD", {"lr": 0.05, "momentum": 0.9}),
    ("linear_regression", "noisy_line", 1, "Adam", {"lr": 0.05}),
    ("linear_regression", "tiny", None, "Adam", {"lr": 0.1}),
    ("logistic_regression", "two_classes", 32, "RMSprop", {"lr": 0.01}),
    ("logistic_regression", "two_classes", 1, "SGD", {"lr": 0.1}),
]


@pytest.mark.parametrize(
    ("model", "dataset", "batch_size", "optimizer", "hp"), CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2] or 'full'}-{c[3]}" for c in CASES],
)  # fmt: skip
def test_path_is_plain_torch_training(
    client: TestClient, model: str, dataset: str, batch_size: int | None, optimizer: str,
    hp: dict[str, Any],
) -> None:  # fmt: skip
    surface = {"model": model, "dataset": dataset, "batch_size": batch_size, "seed": 5}
    body = {"surface": surface, "optimizer": optimizer, "hyperparameters": hp, "steps": 120}
    response = client.post("/api/runs", json=body)
    assert response.status_code == 200, response.text
    run = strict_json(response.text)
    frames = run["frames"]
    start = [frames[0]["x"], frames[0]["y"]]
    expected = plain_training(model, dataset, batch_size, 5, optimizer, hp, start, 120)
    assert len(frames) == 121 or (run["status"] == "converged" and batch_size is None)
    for frame, (point, batch_loss) in zip(frames, expected, strict=False):
        assert [frame["x"], frame["y"]] == point
        assert frame["batch_loss"] == batch_loss
    if batch_size is not None:
        size = len(model_surface(model, dataset, batch_size, 5).data_x)
        per_epoch = -(-size // batch_size)
        assert [f["epoch"] for f in frames] == [k // per_epoch for k in range(len(frames))]
        assert all("true_grad" in f for f in frames)


@pytest.mark.parametrize(
    ("model", "dataset", "batch_size", "optimizer", "hp"),
    [
        ("linear_regression", "tiny", 1, "SGD", {"lr": 0.01}),
        ("linear_regression", "noisy_line", 16, "Adam", {"lr": 0.05}),
        ("logistic_regression", "two_classes", 7, "SGD", {"lr": 0.1, "momentum": 0.9}),
    ],
    ids=["tiny-sgd-per-sample", "noisy-line-adam-16", "two-classes-momentum-7"],
)
def test_mini_batches_in_data_order_are_a_loader_without_shuffle(
    client: TestClient, model: str, dataset: str, batch_size: int, optimizer: str,
    hp: dict[str, Any],
) -> None:  # fmt: skip
    surface = {"model": model, "dataset": dataset, "batch_size": batch_size, "shuffle": False}
    body = {"surface": surface, "optimizer": optimizer, "hyperparameters": hp, "steps": 60}
    run = strict_json(client.post("/api/runs", json=body).text)
    frames = run["frames"]
    start = [frames[0]["x"], frames[0]["y"]]
    expected = plain_training(model, dataset, batch_size, 0, optimizer, hp, start, 60, False)
    shuffled = plain_training(model, dataset, batch_size, 0, optimizer, hp, start, 60, True)
    assert [([f["x"], f["y"]], f["batch_loss"]) for f in frames] == expected[: len(frames)]
    assert expected != shuffled  # the order is what differs
    described = client.post("/api/surfaces/model?resolution=9", json=surface).json()
    assert "in data order" in described["surface"]["description"]


def test_shuffle_must_be_a_boolean(client: TestClient) -> None:
    surface = {"model": "linear_regression", "batch_size": 2, "shuffle": "no"}
    response = client.post("/api/runs", json={"surface": surface, "optimizer": "SGD"})
    assert response.status_code == 422
    # The surface is a union (a name, a formula, a model): the model's error names shuffle.
    assert any(error["loc"][-1] == "shuffle" for error in response.json()["detail"])


def test_full_loss_is_drawn_and_batch_loss_is_followed(client: TestClient) -> None:
    surface = {"model": "linear_regression", "dataset": "noisy_line", "batch_size": 8}
    run = strict_json(
        client.post("/api/runs", json={"surface": surface, "optimizer": "SGD", "steps": 50}).text
    )
    losses = [(f["loss"], f["batch_loss"]) for f in run["frames"]]
    assert any(abs(full - batch) > 1e-3 for full, batch in losses)
    described = strict_json(client.post("/api/surfaces/model?resolution=9", json=surface).text)
    frame = run["frames"][10]
    point = torch.tensor([frame["x"], frame["y"]], dtype=torch.float64)
    full = model_surface("linear_regression", "noisy_line", 8, 0).fn(point)
    assert frame["loss"] == pytest.approx(float(full), rel=1e-5)
    assert len(described["grid"]["z"]) == 9


def test_least_squares_minimum_of_the_tiny_data_set(client: TestClient) -> None:
    body = {"model": "linear_regression", "dataset": "tiny"}
    answer = strict_json(client.post("/api/surfaces/model", json=body).text)
    (minimum,) = answer["surface"]["minima"]
    assert minimum["x"] == pytest.approx(2.0) and minimum["y"] == pytest.approx(0.0, abs=1e-9)
    assert minimum["loss"] == pytest.approx(0.0, abs=1e-12)
    run = client.post(
        "/api/runs",
        json={"surface": body, "optimizer": "SGD", "hyperparameters": {"lr": 0.05},
              "steps": 5000, "dtype": "float64"},
    ).json()  # fmt: skip
    assert run["status"] == "converged"
    assert run["analysis"]["outcome"]["type"] == "minimum"


def test_a_regression_landscape_carries_its_data(client: TestClient) -> None:
    """The page draws the data and the frame's line; the network plane has no such data."""
    body: dict[str, Any] = {"model": "linear_regression", "dataset": "tiny"}
    answer = strict_json(client.post("/api/surfaces/model?resolution=5", json=body).text)
    assert answer["data"] == {"model": "linear_regression", "x": [1.0, 2.0, 3.0],
                              "y": [2.0, 4.0, 6.0]}  # fmt: skip
    body = {"model": "logistic_regression", "dataset": "two_classes", "seed": 3}
    data = strict_json(client.post("/api/surfaces/model?resolution=5", json=body).text)["data"]
    expected = model_surface("logistic_regression", "two_classes", None, 3)
    assert data["x"] == expected.data_x.reshape(-1).tolist()
    assert set(data["y"]) == {0.0, 1.0} and len(data["x"]) == len(data["y"]) == 200
    custom = {"formula": "x**2 + y**2"}
    assert client.post("/api/surfaces/custom?resolution=5", json=custom).json()["data"] is None


def test_separable_data_have_no_finite_minimum(client: TestClient) -> None:
    body = {"model": "logistic_regression", "dataset": "separable"}
    answer = strict_json(client.post("/api/surfaces/model", json=body).text)
    assert answer["surface"]["minima"] == []
    assert "no finite minimum" in answer["note"]
    assert "no finite minimum" in answer["surface"]["description"]


def test_uploaded_csv_round_trip(client: TestClient) -> None:
    csv = "x,y\n1,2.1\n2,3.9\n3,6.2\n4,7.8\n"
    response = client.post("/api/datasets/csv", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    data = strict_json(response.text)
    assert data == {"x": [1.0, 2.0, 3.0, 4.0], "y": [2.1, 3.9, 6.2, 7.8]}
    surface = {"model": "linear_regression", "dataset": data, "batch_size": 2}
    run = client.post("/api/runs", json={"surface": surface, "optimizer": "SGD", "steps": 10})
    assert run.status_code == 200, run.text


@pytest.mark.parametrize(
    ("csv", "needle"),
    [
        ("x,y\n1,2\n3,abc\n", "row 2, column 2"),
        ("1,2\n3,inf\n", "row 2, column 2"),
        ("1,2,3\n4,5,6\n", "expected 2 columns"),
        ("1,2\n", "2 to 10000 rows"),
        ("\n".join(f"{i},{i}" for i in range(10_001)), "2 to 10000 rows"),
    ],
)
def test_bad_csv_gets_a_clear_422(client: TestClient, csv: str, needle: str) -> None:
    response = client.post("/api/datasets/csv", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 422
    assert needle in strict_json(response.text)["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("surface", "loc"),
    [
        ({"model": "linear_regression", "dataset": "moons"}, ["body", "surface", "dataset"]),
        ({"model": "linear_regression", "batch_size": 1000}, ["body", "surface", "batch_size"]),
        ({"model": "logistic_regression", "dataset": {"x": [1, 2], "y": [0, 2]}},
         ["body", "surface", "dataset", "y"]),
        ({"model": "linear_regression", "dataset": {"x": [1, 2, 3], "y": [1, 2]}},
         ["body", "surface", "dataset"]),
        ({"model": "linear_regression", "dataset": {"x": [1, 1], "y": [1, 2]}},
         ["body", "surface", "dataset", "x"]),
        ({"model": "regression"}, ["body", "surface"]),
    ],
)  # fmt: skip
def test_bad_models_get_422(client: TestClient, surface: dict[str, Any], loc: list[str]) -> None:
    response = client.post("/api/runs", json={"surface": surface, "optimizer": "SGD"})
    assert response.status_code == 422, response.text
    assert strict_json(response.text)["detail"][0]["loc"][: len(loc)] == loc


def test_a_stochastic_run_is_not_converged_where_only_its_sample_is_flat(
    client: TestClient,
) -> None:
    # Each sample below has zero gradient somewhere the full data set does not: with one
    # sample per step a vanishing batch gradient says nothing about the loss.
    for data, start in (
        ({"x": [1, 2, 3, 4], "y": [1, 2, 10, -5]}, [1.0, 0.0]),  # sample (1, 1) fits w=1, b=0
        ({"x": [0, 0, 0, 5], "y": [3, 3, 3, 0]}, [0.0, 3.0]),  # 3 of 4 samples fit b=3
    ):
        surface = {"model": "linear_regression", "dataset": data, "batch_size": 1, "seed": 0}
        request = {
            "surface": surface,
            "optimizer": "SGD",
            "hyperparameters": {"lr": 0.01},
            "start": start,
            "steps": 50,
            "dtype": "float64",
        }
        run = strict_json(client.post("/api/runs", json=request).text)
        first_zero = [f for f in run["frames"] if f["grad"] == [0.0, 0.0]]
        assert first_zero, "the case must put a sample with zero gradient in some batch"
        assert run["status"] == "max_steps", run["summary"]["reason"]
        # The full-data gradient, which convergence is judged on, is far from zero there.
        assert max(abs(g) for g in first_zero[0]["true_grad"]) > 0.1


def test_a_stochastic_run_converges_where_the_full_gradient_vanishes(client: TestClient) -> None:
    # Every sample lies on y = 2x + 1, so each batch's gradient vanishes at the full minimum.
    data = {"x": [0, 1, 2, 3], "y": [1, 3, 5, 7]}
    surface = {"model": "linear_regression", "dataset": data, "batch_size": 1, "seed": 0}
    request = {
        "surface": surface,
        "optimizer": "SGD",
        "hyperparameters": {"lr": 0.05},
        "start": [0.0, 0.0],
        "steps": 3000,
        "dtype": "float64",
    }
    run = strict_json(client.post("/api/runs", json=request).text)
    assert run["status"] == "converged"
    last = run["frames"][-1]
    assert abs(last["x"] - 2) < 1e-6 and abs(last["y"] - 1) < 1e-6


def test_a_model_landscape_says_how_many_samples_it_has(client: TestClient) -> None:
    """The page's sample count comes from the server (the moons set has 300 points)."""
    for body, samples in (
        ({"model": "linear_regression", "dataset": "tiny"}, 3),
        ({"model": "logistic_regression"}, 200),
        ({"model": "mlp_plane", "dataset": "moons"}, 300),
    ):
        answer = strict_json(client.post("/api/surfaces/model?resolution=3", json=body).text)
        assert answer["samples"] == samples, body


def one_parameter_loop(
    batch_size: int | None, lr: float, w: float, steps: int
) -> list[tuple[float, float]]:
    """nn.Linear(1, 1, bias=False) + nn.MSELoss on x = [1, 2, 3], y = [2, 4, 6], float64,
    batches in data order: (w, batch loss) per step."""
    x = torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64)
    y = 2 * x
    linear = nn.Linear(1, 1, bias=False).double()
    with torch.no_grad():
        linear.weight.fill_(w)
    opt = torch.optim.SGD(linear.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size or 3, shuffle=False)
    out = []
    batches = (batch for _ in range(steps + 1) for batch in loader)
    for _, (xb, yb) in zip(range(steps + 1), batches, strict=False):
        opt.zero_grad()
        loss = nn.MSELoss()(linear(xb), yb)
        loss.backward()
        out.append((linear.weight.item(), loss.item()))
        opt.step()
    return out


@pytest.mark.parametrize("batch_size", [None, 1], ids=["full-batch", "per-sample"])
def test_the_one_parameter_model_is_nn_linear_without_bias(
    client: TestClient, batch_size: int | None
) -> None:
    surface = {"model": "linear_regression", "dataset": "tiny", "bias": False,
               "batch_size": batch_size, "shuffle": False}  # fmt: skip
    body = {"surface": surface, "optimizer": "SGD", "hyperparameters": {"lr": 0.01},
            "start": [1.0], "steps": 300, "dtype": "float64"}  # fmt: skip
    run = strict_json(client.post("/api/runs", json=body).text)
    frames = run["frames"]
    expected = one_parameter_loop(batch_size, 0.01, 1.0, 300)
    assert [(f["x"], f["batch_loss"]) for f in frames] == expected[: len(frames)]
    assert all(f["y"] == 0.0 and f["grad"][1] == 0.0 for f in frames)
    assert run["analysis"]["outcome"]["type"] == "minimum"


def test_the_tutorials_y_equals_w_x_numbers() -> None:
    """The tutorial's hand-written loops (w = 1.0, lr 0.01, 100 epochs): batch gradient
    descent prints w and the cost per epoch; the engine's frames agree to rounding (the
    tutorial sums in Python floats, torch's MSELoss in its own order)."""
    xs, ys = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]
    surface = model_surface("linear_regression", "tiny", None, 0, False, False)
    config = make_config(
        surface=surface, optimizer="SGD", hyperparameters={"lr": 0.01}, start=[1.0],
        steps=100, dtype="float64",
    )  # fmt: skip
    frames = run(config)[1]
    w = 1.0
    for epoch in range(100):
        cost = sum((x * w - y) ** 2 for x, y in zip(xs, ys, strict=True)) / 3
        assert frames[epoch]["x"] == pytest.approx(w, rel=1e-13)
        assert frames[epoch]["loss"] == pytest.approx(cost, rel=1e-12)
        w -= 0.01 * sum(2 * x * (x * w - y) for x, y in zip(xs, ys, strict=True)) / 3
    assert frames[100]["x"] == pytest.approx(1.9999444396553017, rel=1e-13)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": [1.0, 0.0]}, "start"),
        ({"surface": {"model": "logistic_regression", "bias": False}}, "bias"),
        ({"param_groups": [{}, {}]}, "param_groups"),
    ],
)
def test_the_one_parameter_model_refuses_what_it_cannot_take(
    client: TestClient, change: dict[str, Any], field: str
) -> None:
    body = {"surface": {"model": "linear_regression", "bias": False}, "optimizer": "SGD"}
    response = client.post("/api/runs", json=body | change)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


def test_maps_and_sweeps_refuse_a_one_parameter_model(client: TestClient) -> None:
    surface = {"model": "linear_regression", "bias": False}
    basin = client.post("/api/maps/basins", json={"surface": surface, "optimizer": "SGD"})
    assert basin.status_code == 422
    assert basin.json()["detail"][0]["loc"] == ["body", "surface", "bias"]
    sweep = {"surface": surface, "optimizer": "SGD", "axis": {"name": "lr", "min": 0.01,
             "max": 0.1, "n": 3}}  # fmt: skip
    response = client.post("/api/sweeps", json=sweep)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "surface", "bias"]


@pytest.mark.parametrize("optimizer", ["Adam", "Muon", "LBFGS", "SAM", "ScheduleFreeAdamW"])
def test_every_family_steps_the_one_parameter_model(optimizer: str) -> None:
    surface = model_surface("linear_regression", "tiny", None, 0, True, False)
    config = make_config(surface=surface, optimizer=optimizer, steps=20, start=[1.0])
    status, frames, _ = run(config)
    assert status in ("max_steps", "converged")
    for frame in frames:
        assert frame["y"] == 0.0 and len(frame["grad"]) == 2
        for key in ("ascent", "train_point"):
            if key in frame:
                assert len(frame[key]) == 2 and frame[key][1] == 0.0
    assert frames[-1]["loss"] < frames[0]["loss"]


def test_a_surface_description_says_how_many_parameters_a_run_steps(client: TestClient) -> None:
    assert {s["parameters"] for s in client.get("/api/surfaces").json()} == {2}
    for bias, parameters in ((True, 2), (False, 1)):
        body = {"model": "linear_regression", "dataset": "tiny", "bias": bias}
        answer = client.post("/api/surfaces/model?resolution=3", json=body).json()
        assert answer["surface"]["parameters"] == parameters


@pytest.mark.parametrize(
    ("batch_size", "hp"),
    [(None, {"lr": 0.5}), (8, {"lr": 0.5, "momentum": 0.9}), (1, {"lr": 0.2})],
    ids=["full-batch", "mini-batch-momentum", "per-sample"],
)
def test_logistic_regression_with_mse_is_plain_torch_training(
    client: TestClient, batch_size: int | None, hp: dict[str, Any]
) -> None:
    """loss mse: F.mse_loss(torch.sigmoid(nn.Linear(1, 1)(x)), y), frame for frame in float64."""
    surface = {"model": "logistic_regression", "loss": "mse", "batch_size": batch_size,
               "seed": 3}  # fmt: skip
    body = {"surface": surface, "optimizer": "SGD", "hyperparameters": hp, "steps": 150,
            "dtype": "float64"}  # fmt: skip
    run = strict_json(client.post("/api/runs", json=body).text)
    frames = run["frames"]
    start = [frames[0]["x"], frames[0]["y"]]
    expected = plain_training(
        "logistic_regression", "two_classes", batch_size, 3, "SGD", hp, start, 150,
        loss="mse", dtype=torch.float64,
    )  # fmt: skip
    assert len(frames) == 151
    assert [([f["x"], f["y"]], f["batch_loss"]) for f in frames] == expected
    cross_entropy = plain_training(
        "logistic_regression", "two_classes", batch_size, 3, "SGD", hp, start, 150,
        dtype=torch.float64,
    )  # fmt: skip
    assert expected[-1][0] != cross_entropy[-1][0]  # the loss is what differs
    # A frame's loss is the full-data loss: the same MSE on the whole data set.
    data = model_surface("logistic_regression", "two_classes", None, 3)
    for frame in frames[::30]:
        w, b = frame["x"], frame["y"]
        full = F.mse_loss(torch.sigmoid(w * data.data_x + b), data.data_y)
        assert frame["loss"] == pytest.approx(float(full), rel=1e-12)


@pytest.mark.parametrize(
    ("model", "loss", "bias"),
    [("linear_regression", "mse", True), ("linear_regression", "mse", False),
     ("logistic_regression", "cross_entropy", True), ("logistic_regression", "mse", True)],
    ids=["linear", "through-origin", "logistic-cross-entropy", "logistic-mse"],
)  # fmt: skip
def test_the_drawn_landscape_is_the_batch_loss_on_all_the_data(
    model: str, loss: str, bias: bool
) -> None:
    surface = model_surface(model, None, None, 1, True, bias, loss)
    points = torch.tensor([[-2.0, 1.5], [0.3, -0.7], [1.7, 0.2], [4.0, -3.0]], dtype=torch.float64)
    if not bias:
        points[:, 1] = 0.0
    drawn = surface.fn(points)
    for point, value in zip(points, drawn, strict=True):
        whole = surface.batch_loss(point, surface.data_x, surface.data_y)
        assert float(value) == pytest.approx(float(whole), rel=1e-12)
    _, _, z = surface.grid(5)
    assert torch.isfinite(z).all()


def test_mse_on_a_sigmoid_has_its_own_minimum_and_a_vanishing_gradient(
    client: TestClient,
) -> None:
    ce_body = {"model": "logistic_regression", "dataset": "two_classes"}
    ce = strict_json(client.post("/api/surfaces/model?resolution=5", json=ce_body).text)
    mse = strict_json(
        client.post("/api/surfaces/model?resolution=5", json=ce_body | {"loss": "mse"}).text
    )
    assert mse["surface"]["formula"] == "L(w, b) = mean((sigmoid(w·x + b) − y)²)"
    assert "MSE" in mse["surface"]["title"] and "saturates" in mse["surface"]["description"]
    (minimum,) = mse["surface"]["minima"]
    (ce_minimum,) = ce["surface"]["minima"]
    assert minimum["kind"] == "global"
    assert abs(minimum["x"] - ce_minimum["x"]) > 0.1  # not the cross-entropy optimum
    surface = model_surface("logistic_regression", "two_classes", loss="mse")
    point = torch.tensor([minimum["x"], minimum["y"]], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(surface.fn(point), point)
    assert float(grad.norm()) < 1e-12  # a stationary point, found in float64
    assert minimum["loss"] < surface.loss_at(ce_minimum["x"], ce_minimum["y"])
    # Far on the wrong side the sigmoid saturates: MSE's gradient all but vanishes there,
    # cross-entropy's does not.
    wrong = []
    for fn in (model_surface("logistic_regression", "two_classes").fn, surface.fn):
        p = torch.tensor([-6.0, 0.0], dtype=torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad(fn(p), p)
        wrong.append(float(g.norm()))
    assert wrong[1] < 0.01 * wrong[0]


def test_mse_on_a_sigmoid_may_have_only_a_local_minimum(client: TestClient) -> None:
    """One sample on the wrong side: the loss keeps falling far away, toward the 1/5 a
    saturated sigmoid that misclassifies only it scores; the finite minimum is local."""
    data = {"x": [-2, -1, 1, 2, 3], "y": [0, 0, 1, 1, 0]}
    body = {"model": "logistic_regression", "dataset": data, "loss": "mse"}
    answer = strict_json(client.post("/api/surfaces/model?resolution=5", json=body).text)
    (minimum,) = answer["surface"]["minima"]
    assert minimum["kind"] == "local"
    assert "local" in answer["note"]
    far = model_surface("logistic_regression", data, loss="mse").loss_at(60.0, -30.0)
    assert far < minimum["loss"]
    separable = body | {"dataset": "separable"}
    answer = strict_json(client.post("/api/surfaces/model?resolution=5", json=separable).text)
    assert answer["surface"]["minima"] == [] and "no finite minimum" in answer["note"]


@pytest.mark.parametrize(
    ("surface", "route"),
    [
        ({"model": "linear_regression", "loss": "cross_entropy"}, "/api/runs"),
        ({"model": "linear_regression", "loss": "cross_entropy"}, "/api/surfaces/model"),
        ({"model": "mlp_plane", "loss": "mse"}, "/api/runs"),
        ({"model": "mlp_plane", "loss": "mse"}, "/api/surfaces/model"),
        ({"model": "logistic_regression", "loss": "hinge"}, "/api/runs"),
    ],
    ids=["linear-cross-entropy-run", "linear-cross-entropy-landscape", "mlp-mse-run",
         "mlp-mse-landscape", "unknown-loss"],
)  # fmt: skip
def test_a_loss_the_model_does_not_train_with_gets_422(
    client: TestClient, surface: dict[str, Any], route: str
) -> None:
    body = surface if route == "/api/surfaces/model" else {"surface": surface, "optimizer": "SGD"}
    response = client.post(route, json=body)
    assert response.status_code == 422, response.text
    assert any(error["loc"][-1] == "loss" for error in response.json()["detail"])


def test_the_default_losses_are_named_explicitly_too(client: TestClient) -> None:
    for surface in (
        {"model": "linear_regression", "dataset": "tiny", "loss": "mse"},
        {"model": "logistic_regression", "loss": "cross_entropy"},
        {"model": "mlp_plane", "loss": "cross_entropy"},
    ):
        default = {k: v for k, v in surface.items() if k != "loss"}
        named = client.post("/api/surfaces/model?resolution=3", json=surface)
        assert named.status_code == 200, named.text
        assert named.json() == client.post("/api/surfaces/model?resolution=3", json=default).json()
