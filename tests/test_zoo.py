"""The optimizer zoo: every optimizer of torch.optim and pytorch_optimizer, each family
stepped as its authors document, pinned to plain loops written from that documentation."""

from __future__ import annotations

import contextlib
import copy
import inspect
import itertools
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import pytorch_optimizer
import torch
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab import maps
from losslab.engine import make_config, run
from losslab.errors import InvalidInput
from losslab.hyperparameters import Hyperparameter
from losslab.landscapes.surfaces import get_surface
from losslab.maps import Axis
from losslab.optimizer_catalog import EXCLUDED as CATALOG_EXCLUDED
from losslab.optimizer_catalog import GROUPS_COUPLED
from losslab.optimizers import (
    EXCLUDED,
    LIBRARY_ERRORS,
    OPTIMIZERS,
    HyperparameterError,
    OptimizerSpec,
    UnknownOptimizer,
)

FAMILIES = {"first_order", "closure", "hessian", "sharpness", "wrapper", "schedule_free"}


def test_every_class_of_both_libraries_is_listed_or_excluded_with_a_reason() -> None:
    torch_classes = {
        obj
        for obj in vars(torch.optim).values()
        if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)
    } - {torch.optim.Optimizer}
    zoo_classes = {
        pytorch_optimizer.load_optimizer(n) for n in pytorch_optimizer.get_supported_optimizers()
    } | {
        obj
        for obj in vars(pytorch_optimizer).values()
        if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)
    }
    registered = {spec.cls for spec in OPTIMIZERS.values()}
    excluded = {name.removeprefix("pytorch_optimizer.") for name in EXCLUDED}
    for cls in torch_classes | zoo_classes:
        assert cls in registered or cls.__name__ in excluded, cls.__name__
    assert len(OPTIMIZERS) >= 135
    assert set(EXCLUDED) == set(CATALOG_EXCLUDED)
    assert all(entry["reason"] for entry in EXCLUDED.values())
    assert {spec.family for spec in OPTIMIZERS.values()} == FAMILIES


def test_a_torch_name_always_means_torchs_class() -> None:
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "NAdam", "LBFGS", "ASGD", "RAdam", "Muon"):
        assert OPTIMIZERS[name].cls is getattr(torch.optim, name)
        assert OPTIMIZERS[name].source == "torch.optim"
    for name in ("ASGD", "RAdam", "Muon"):
        zoo = OPTIMIZERS[f"pytorch_optimizer.{name}"]
        assert zoo.source == "pytorch_optimizer" and zoo.cls is getattr(pytorch_optimizer, name)
    assert OPTIMIZERS["Lion"].source == "pytorch_optimizer"


def test_families_and_references() -> None:
    expected = {
        "Lion": "first_order", "AliG": "closure", "LBFGS": "closure", "AdaHessian": "hessian",
        "SophiaH": "hessian", "SAM": "sharpness", "BSAM": "sharpness", "LookSAM": "sharpness",
        "Lookahead": "wrapper", "ScheduleFreeAdamW": "schedule_free",
        "ScheduleFreeWrapper": "schedule_free",
    }  # fmt: skip
    for name, family in expected.items():
        assert OPTIMIZERS[name].family == family, name
    assert OPTIMIZERS["Lion"].reference == {
        "title": "Symbolic Discovery of Optimization Algorithms",
        "url": "https://arxiv.org/abs/2302.06675",
    }
    assert OPTIMIZERS["Adam"].reference is not None
    assert "arxiv.org/abs/1412.6980" in OPTIMIZERS["Adam"].reference["url"]
    assert OPTIMIZERS["SAM"].reference is not None
    assert "Sharpness-Aware" in OPTIMIZERS["SAM"].reference["title"]
    lion = OPTIMIZERS["Lion"]
    assert lion.hyperparameter("betas").description.startswith("Decay rates")
    assert lion.description == "Sign based updates from interpolated gradient momentum."


@pytest.mark.parametrize("name", list(OPTIMIZERS), ids=str)
def test_every_optimizer_takes_50_default_steps_on_the_bowl(name: str) -> None:
    config = make_config(surface="bowl", optimizer=name, steps=50)
    status, frames, _ = run(config, time_limit=30)
    assert frames[0]["step"] == 0
    assert status != "diverged" or frames[-1]["step"] > 0
    for frame in frames:
        values = [frame["x"], frame["y"], frame["loss"], *frame["grad"]]
        assert all(math.isfinite(v) for v in values), frame


# Plain loops written from each library's documentation, one optimizer per family. They
# share nothing with the engine but the surface's function.


def _bowl(point: torch.Tensor) -> torch.Tensor:
    return get_surface("rosenbrock").fn(point.reshape(2))


START = [-1.5, 1.8]


def _param(shape: tuple[int, ...] = (2,)) -> torch.Tensor:
    return torch.tensor(START).reshape(shape).requires_grad_()


def _engine_points(name: str, hyperparameters: dict[str, Any], steps: int) -> list[list[float]]:
    config = make_config(
        surface="rosenbrock", optimizer=name, hyperparameters=hyperparameters,
        start=START, steps=steps,
    )  # fmt: skip
    _, frames, _ = run(config)
    assert len(frames) == steps + 1
    return [[f["x"], f["y"], f["loss"]] for f in frames]


def _plain_loop(
    optimizer: torch.optim.Optimizer, param: torch.Tensor, steps: int, step: Callable[[], object]
) -> list[list[float]]:
    points = []
    for k in range(steps + 1):
        optimizer.zero_grad()
        loss = _bowl(param)
        loss.backward()
        points.append([*param.detach().reshape(-1).tolist(), loss.item()])
        if k < steps:
            step()
    return points


def test_first_order_lion_equals_its_documented_loop() -> None:
    param = _param()
    optimizer = pytorch_optimizer.Lion([param], lr=0.02, betas=(0.9, 0.99))
    expected = _plain_loop(optimizer, param, 60, optimizer.step)
    assert _engine_points("Lion", {"lr": 0.02, "betas": [0.9, 0.99]}, 60) == expected


def test_closure_alig_equals_its_documented_loop() -> None:
    param = _param()
    optimizer = pytorch_optimizer.AliG([param], max_lr=0.05, momentum=0.5)

    @torch.enable_grad()  # step() runs under no_grad; the closure differentiates
    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = _bowl(param)
        loss.backward()
        return loss

    expected = _plain_loop(
        optimizer, param, 40, lambda: optimizer.step(cast(Callable[[], float], closure))
    )
    assert _engine_points("AliG", {"max_lr": 0.05, "momentum": 0.5}, 40) == expected


def test_hessian_adahessian_equals_its_documented_loop_and_is_seeded() -> None:
    param = _param()
    optimizer = pytorch_optimizer.AdaHessian([param], lr=0.05, hessian_distribution="gaussian")
    torch.manual_seed(0)  # the run's stream: a run without noise is seeded 0
    points = []
    for k in range(41):
        optimizer.zero_grad()
        loss = _bowl(param)
        with warnings.catch_warnings():  # backward()'s note on the parameter-gradient cycle
            warnings.simplefilter("ignore", UserWarning)
            loss.backward(create_graph=True)  # as the class's docstring says
        points.append([*param.detach().reshape(-1).tolist(), loss.item()])
        if k < 40:
            optimizer.step()
    settings = {"lr": 0.05, "hessian_distribution": "gaussian"}
    assert _engine_points("AdaHessian", settings, 40) == points
    # A concurrent draw from the global generator does not change a run.
    torch.manual_seed(123)
    assert _engine_points("AdaHessian", settings, 40) == points


def test_sharpness_sam_equals_its_documented_loop_and_reports_the_ascent_point() -> None:
    param = _param()
    optimizer = pytorch_optimizer.SAM([param], torch.optim.SGD, rho=0.05, lr=5e-4, momentum=0.9)
    points, ascents = [], []

    @torch.enable_grad()
    def closure() -> torch.Tensor:
        ascents.append(param.detach().tolist())
        optimizer.zero_grad()
        loss = _bowl(param)
        loss.backward()
        return loss

    for k in range(31):
        optimizer.zero_grad()
        loss = _bowl(param)
        loss.backward()
        points.append([*param.detach().tolist(), loss.item()])
        if k < 30:
            assert param.grad is not None
            grad = param.grad.detach().clone()
            before = param.detach().clone()
            optimizer.step(cast(Callable[[], float], closure))
            # The ascent point is w + rho * g / |g| (SAM's first_step, not adaptive).
            expected = before + 0.05 * grad / (grad.norm() + 1e-12)
            assert torch.allclose(torch.tensor(ascents[-1]), expected, atol=1e-6)
    settings = {"base_optimizer": "SGD", "rho": 0.05, "lr": 5e-4, "momentum": 0.9}
    config = make_config(
        surface="rosenbrock", optimizer="SAM", hyperparameters=settings, start=START, steps=30
    )
    _, frames, _ = run(config)
    assert [[f["x"], f["y"], f["loss"]] for f in frames] == points
    assert [f["ascent"] for f in frames[:-1]] == ascents
    assert "ascent" not in frames[-1]


def test_wrapper_lookahead_equals_its_documented_loop() -> None:
    param = _param()
    optimizer = pytorch_optimizer.Lookahead(torch.optim.Adam([param], lr=0.05), k=5, alpha=0.5)
    expected = _plain_loop(optimizer, param, 40, optimizer.step)
    settings = {"base_optimizer": "Adam", "k": 5, "alpha": 0.5, "lr": 0.05}
    assert _engine_points("Lookahead", settings, 40) == expected


def test_schedule_free_frames_are_the_evaluation_point() -> None:
    param = _param()
    optimizer = pytorch_optimizer.ScheduleFreeAdamW([param], lr=0.05)
    optimizer.train()  # type: ignore[no-untyped-call]
    train_points, eval_points = [], []
    for k in range(41):
        optimizer.zero_grad()
        loss = _bowl(param)
        loss.backward()
        train_points.append([*param.detach().tolist(), loss.item()])
        # optimizer.eval() on a copy: the averaged weights the authors evaluate.
        shadow = copy.deepcopy(optimizer)
        shadow.eval()  # type: ignore[no-untyped-call]
        point = shadow.param_groups[0]["params"][0].detach()
        eval_points.append([*point.tolist(), _bowl(point).item()])
        if k < 40:
            optimizer.step()
    config = make_config(
        surface="rosenbrock", optimizer="ScheduleFreeAdamW", hyperparameters={"lr": 0.05},
        start=START, steps=40,
    )  # fmt: skip
    _, frames, _ = run(config)
    assert [[f["x"], f["y"], f["loss"]] for f in frames] == eval_points
    assert [[*f["train_point"], f["train_loss"]] for f in frames] == train_points
    assert eval_points[10][:2] != train_points[10][:2]


# Hostile input: a 4xx that names the field.


@pytest.mark.parametrize(
    ("optimizer", "values", "loc"),
    [
        ("SAM", {"base_optimizer": "Nope"}, ("hyperparameters", "base_optimizer")),
        ("SAM", {"base_optimizer": "SAM"}, ("hyperparameters", "base_optimizer")),
        ("SAM", {"base_optimizer": "Lookahead"}, ("hyperparameters", "base_optimizer")),
        ("Lookahead", {"base_optimizer": "SAM"}, ("hyperparameters", "base_optimizer")),
        ("Lookahead", {"base_optimizer": "LBFGS"}, ("hyperparameters", "base_optimizer")),
        ("SAM", {"base_optimizer": "AdaHessian"}, ("hyperparameters", "base_optimizer")),
        ("SAM", {"base_optimizer": 3}, ("hyperparameters", "base_optimizer")),
        ("SAM", {"base_optimizer": None}, ("hyperparameters", "base_optimizer")),
        ("SAM", {"rho": "wide"}, ("hyperparameters", "rho")),
        ("SAM", {"adaptive": 1}, ("hyperparameters", "adaptive")),
        ("SAM", {"base_optimizer": "SGD", "betas": [0.9, 0.9]}, ("hyperparameters", "betas")),
        ("SAM", {"base_optimizer": "Adam", "momentum": 0.9}, ("hyperparameters", "momentum")),
        ("Adan", {"betas": [0.9, 0.9]}, ("hyperparameters", "betas")),
        ("Adan", {"betas": [0.9, 0.9, 2.0]}, ("hyperparameters", "betas", 2)),
        ("Prodigy", {"growth_rate": "inf"}, ("hyperparameters", "growth_rate")),
    ],
)
def test_bad_settings_name_their_field(
    optimizer: str, values: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(HyperparameterError) as caught:
        make_config(surface="bowl", optimizer=optimizer, hyperparameters=values, steps=5)
    assert caught.value.loc == loc


def test_an_excluded_optimizer_says_why() -> None:
    with pytest.raises(UnknownOptimizer) as caught:
        make_config(surface="bowl", optimizer="SparseAdam", steps=5)
    assert caught.value.loc == ("optimizer",)
    assert "sparse gradients" in caught.value.message


def test_values_the_library_refuses_are_blamed_on_the_value() -> None:
    with pytest.raises(HyperparameterError) as caught:
        make_config(
            surface="bowl", optimizer="SAM",
            hyperparameters={"base_optimizer": "SGD", "momentum": 0.9, "nesterov": True,
                             "dampening": 0.5},
        )  # fmt: skip
    assert caught.value.loc[0] == "hyperparameters"


def test_null_asks_for_an_infinite_library_default() -> None:
    config = make_config(
        surface="bowl", optimizer="Prodigy", hyperparameters={"growth_rate": None}, steps=3
    )
    assert config.optimizer.create([torch.zeros(2, requires_grad=True)], {"growth_rate": None})
    assert run(config)[0] == "max_steps"
    capped = make_config(
        surface="bowl", optimizer="Prodigy", hyperparameters={"growth_rate": 1.02}, steps=3
    )
    assert run(capped)[0] == "max_steps"


def test_api_lists_runnable_then_excluded(client: TestClient) -> None:
    listed = client.get("/api/optimizers").json()
    runnable = [o for o in listed if o["excluded"] is None]
    excluded = [o for o in listed if o["excluded"] is not None]
    assert [o["name"] for o in runnable] == list(OPTIMIZERS)
    assert {o["name"] for o in excluded} == set(EXCLUDED)
    assert listed == runnable + excluded
    sam = next(o for o in runnable if o["name"] == "SAM")
    assert sam["family"] == "sharpness" and sam["source"] == "pytorch_optimizer"
    assert sam["hyperparameters"][0]["name"] == "base_optimizer"
    assert "SGD" in sam["hyperparameters"][0]["choices"]
    assert "SAM" not in sam["hyperparameters"][0]["choices"]
    assert sam["needs_closure"] and "first_step" in sam["family_step"]
    sparse = next(o for o in excluded if o["name"] == "SparseAdam")
    assert sparse["hyperparameters"] == [] and "sparse" in sparse["excluded"]
    response = client.post("/api/runs", json={"surface": "bowl", "optimizer": "SparseAdam"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "optimizer"


def test_api_runs_a_wrapper_with_flat_settings(client: TestClient) -> None:
    body = {
        "surface": "bowl", "optimizer": "SAM", "steps": 20,
        "hyperparameters": {"base_optimizer": "SGD", "rho": 0.05, "lr": 0.1, "momentum": 0.9},
    }  # fmt: skip
    response = client.post("/api/runs", json=body)
    assert response.status_code == 200
    frames = response.json()["frames"]
    assert all(len(f["ascent"]) == 2 for f in frames[:-1])
    bad = body | {"hyperparameters": {"base_optimizer": "SAM"}}
    response = client.post("/api/runs", json=bad)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "base_optimizer"


# Hyperparameter maps: pytorch_optimizer's first-order classes run one parameter group per
# cell, and each cell is its single run; the classes that couple their groups are refused.


def _two_axes(spec: OptimizerSpec) -> tuple[Axis, Axis] | None:
    """Two of the optimizer's numeric settings, each from half its default to its default."""
    axes, unset = [], []
    for name in maps._numeric_names(spec):
        stem, _, index = name.partition(".")
        hp = spec.hyperparameter(stem)
        value = hp.default[int(index)] if index else hp.default
        if hp.type != "int" and isinstance(value, float) and value > 0:
            axes.append(Axis(name, value / 2, value, 2))
        elif hp.type != "int" and isinstance(value, float) and value < 0:
            unset.append(Axis(name, 2 * value, value, 2))
        elif hp.type != "int" and value == 0.0 and hp.slider_max:
            unset.append(Axis(name, 0.0, min(hp.slider_max, 1.0) / 2, 2))
        elif hp.type == "float" and value is None:
            unset.append(Axis(name, 1.0, 2.0, 2))  # a setting the library leaves off
    axes += unset
    return (axes[0], axes[1]) if len(axes) >= 2 else None


def _cells_equal_single_runs(spec: OptimizerSpec) -> bool:
    surface = get_surface("himmelblau")
    axes = _two_axes(spec)
    assert axes is not None, spec.name
    x, y = axes
    grid = maps.hyperparameter_map(surface, spec, {}, surface.default_start, 12, x, y)
    for i, j in itertools.product(range(2), range(2)):
        values = maps.cell_hyperparameters(spec, {}, {x.name: grid.x[j], y.name: grid.y[i]})
        config = make_config(surface=surface, optimizer=spec.name, hyperparameters=values, steps=12)
        status, _, summary = run(config)
        if status == "diverged":
            if grid.final_loss[i][j] is not None:
                return False
        elif (grid.final_x[i][j], grid.final_y[i][j]) != (summary.final_x, summary.final_y):
            return False
    return True


GROUPED = [
    name
    for name, spec in OPTIMIZERS.items()
    if spec.source == "pytorch_optimizer"
    and maps.supports_hyperparameter_map(spec)
    and _two_axes(spec) is not None
]


@pytest.mark.parametrize("name", GROUPED, ids=str)
def test_hyperparameter_map_cells_of_library_optimizers_are_single_runs(name: str) -> None:
    assert _cells_equal_single_runs(OPTIMIZERS[name])


@pytest.mark.parametrize("name", sorted(GROUPS_COUPLED), ids=str)
def test_classes_listed_as_coupled_do_couple_their_groups(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = OPTIMIZERS[name]
    with pytest.raises(maps.UnsupportedOptimizer) as caught:
        _cells_equal_single_runs(spec)
    assert GROUPS_COUPLED[name] in caught.value.message
    monkeypatch.setattr(maps, "groups_refusal", lambda spec: None)
    with contextlib.suppress(*LIBRARY_ERRORS):  # or it cannot even step a group per cell
        assert not _cells_equal_single_runs(spec)


def test_maps_refuse_other_families_by_name() -> None:
    surface = get_surface("bowl")
    for name in ("SAM", "AdaHessian", "ScheduleFreeAdamW", "Lookahead", "AliG", "LBFGS"):
        with pytest.raises(maps.UnsupportedOptimizer) as caught:
            maps.hyperparameter_map(
                surface, OPTIMIZERS[name], {}, surface.default_start, 10,
                Axis("lr", 0.01, 0.1, 2), Axis("eps", 1e-8, 1e-6, 2),
            )  # fmt: skip
        assert caught.value.loc == ("optimizer",)
    every = [
        n for n, s in OPTIMIZERS.items()
        if s.source == "pytorch_optimizer" and maps.supports_hyperparameter_map(s)
    ]  # fmt: skip
    assert every == GROUPED


# Whatever settings a client sends, a run either refuses them with an error naming a field
# or runs to an ending: never another exception.


def _setting(hp: Hyperparameter) -> st.SearchStrategy[Any]:
    if hp.type == "bool":
        return st.booleans()
    if hp.type == "choice":
        return st.sampled_from(hp.choices or (None,))
    assert hp.slider_min is not None and hp.slider_max is not None
    if hp.type in ("int", "int_list"):
        number: st.SearchStrategy[Any] = st.integers(int(hp.slider_min), int(hp.slider_max))
    else:
        number = st.floats(hp.slider_min, hp.slider_max)
    if hp.type == "pair":
        return st.lists(number, min_size=len(hp.default), max_size=len(hp.default))
    if hp.type == "int_list":
        return st.lists(number, min_size=1, max_size=3, unique=True).map(sorted)
    return number


JUNK = st.none() | st.booleans() | st.text(max_size=4) | st.floats() | st.integers()


@st.composite
def _settings(draw: st.DrawFn, spec: OptimizerSpec) -> dict[str, Any]:
    base = spec.base_of({})
    pool = list(spec.hyperparameters) + list(base.hyperparameters if base else ())
    chosen = draw(st.lists(st.sampled_from(pool), max_size=4, unique_by=lambda hp: hp.name))
    return {hp.name: draw(JUNK if draw(st.integers(0, 5)) == 0 else _setting(hp)) for hp in chosen}


@pytest.mark.parametrize("name", list(OPTIMIZERS), ids=str)
@settings(max_examples=10, deadline=None, derandomize=True)
@given(data=st.data())
def test_any_settings_are_refused_by_field_or_run(name: str, data: st.DataObject) -> None:
    spec = OPTIMIZERS[name]
    values = data.draw(_settings(spec))
    surface = data.draw(st.sampled_from(["bowl", "rosenbrock", "saddle"]))
    try:
        config = make_config(surface=surface, optimizer=name, hyperparameters=values, steps=8)
    except InvalidInput as error:
        assert error.loc[0] in ("hyperparameters", "optimizer"), error.loc
        return
    status, frames, _ = run(config, time_limit=20)
    assert status in ("converged", "diverged", "max_steps") and frames


def test_the_readme_lists_every_excluded_class() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    _, _, section = readme.partition("cannot step a 2-D point here")
    for name in EXCLUDED:
        assert f"| {name}" in section or f", {name} |" in section, name


def test_the_mlp_trains_with_library_optimizers_and_refuses_by_reason(client: TestClient) -> None:
    listed = {o["name"]: o for o in client.get("/api/optimizers").json()}
    for name, settings_ in (("Lion", {"lr": 0.01}), ("SAM", {"base_optimizer": "SGD"})):
        body = {"dataset": "moons", "optimizer": name, "hyperparameters": settings_, "steps": 10}
        response = client.post("/api/models/mlp/train", json=body)
        assert response.status_code == 200, response.text
        assert listed[name]["supports"]["network"]
    for name in ("AdaHessian", "ScheduleFreeAdamW", "pytorch_optimizer.Muon"):
        body = {"dataset": "moons", "optimizer": name, "steps": 10}
        response = client.post("/api/models/mlp/train", json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][-1] == "optimizer"
        assert not listed[name]["supports"]["network"]


def test_a_diverging_cell_of_a_group_per_cell_map_is_stopped_not_crashed() -> None:
    """Lamb keeps a scalar per parameter group in its state: the rows of a stopped cell were
    once indexed as a matrix (IndexError); now the cells that diverge are simply diverged."""
    surface = get_surface("rosenbrock")
    spec = OPTIMIZERS["Lamb"]
    x, y = Axis("lr", 1e-3, 100.0, 3, log=True), Axis("weight_decay", 0.0, 0.1, 2)
    grid = maps.hyperparameter_map(surface, spec, {}, (-1.5, 2.5), 30, x, y)
    assert maps.DIVERGED in {code for row in grid.outcome for code in row}
    for i, j in itertools.product(range(2), range(3)):
        values = maps.cell_hyperparameters(spec, {}, {"lr": grid.x[j], "weight_decay": grid.y[i]})
        config = make_config(surface=surface, optimizer="Lamb", hyperparameters=values, steps=30)
        status, _, _ = run(config)
        assert (status == "diverged") == (grid.outcome[i][j] == maps.DIVERGED)


def test_a_library_that_raises_in_a_batched_map_step_is_refused_by_field() -> None:
    surface = get_surface("rosenbrock")
    x, y = Axis("lr", 1e-4, 1e5, 3, log=True), Axis("weight_decay", 0.0, 0.1, 2)
    with pytest.raises(maps.InvalidMap) as refused:
        maps.hyperparameter_map(surface, OPTIMIZERS["SWATS"], {}, (-1.5, 2.5), 15, x, y)
    assert refused.value.loc == ("optimizer",)
    assert "SWATS failed inside a batched step" in refused.value.message
