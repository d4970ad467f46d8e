from __future__ import annotations

import inspect
import math

import pytest
import torch

from losslab.optimizers import (
    FRAMEWORK_SWITCHES,
    OPTIMIZERS,
    HyperparameterError,
    UnknownOptimizer,
    get_optimizer,
)

REQUIRED = [
    "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "Adadelta",
    "Adafactor", "ASGD", "Rprop", "LBFGS", "Muon",
]  # fmt: skip


def test_registry_holds_every_dense_optimizer() -> None:
    assert set(REQUIRED) <= set(OPTIMIZERS)
    assert "SparseAdam" not in OPTIMIZERS
    assert list(OPTIMIZERS)[:2] == ["SGD", "Adam"]


TORCH_NAMES = [name for name, spec in OPTIMIZERS.items() if spec.source == "torch.optim"]


@pytest.mark.parametrize("name", TORCH_NAMES, ids=str)
def test_defaults_are_torchs_own(name: str) -> None:
    spec = OPTIMIZERS[name]
    param = torch.zeros(spec.param_shape, requires_grad=True)
    torch_defaults = spec.create([param], {}).defaults
    for hp in spec.hyperparameters:
        expected = torch_defaults[hp.name]
        if hp.default is None:
            continue  # None asks torch to derive the value (LBFGS max_eval = max_iter * 5 // 4)
        default = tuple(hp.default) if hp.type == "pair" else hp.default
        assert default == (tuple(expected) if isinstance(expected, tuple) else expected), hp.name
        assert hp.name not in FRAMEWORK_SWITCHES


@pytest.mark.parametrize("name", list(OPTIMIZERS), ids=str)
def test_defaults_are_the_signatures_own(name: str) -> None:
    """Every setting's default is its class's (an infinite one is offered as null)."""
    spec = OPTIMIZERS[name]
    signature = inspect.signature(spec.cls).parameters
    for hp in spec.hyperparameters:
        if hp.name == "base_optimizer":
            assert hp.default in OPTIMIZERS and OPTIMIZERS[hp.default].family == "first_order"
            continue
        expected = signature[hp.name].default
        if expected is inspect.Parameter.empty:
            expected = spec.required[hp.name]
        if isinstance(expected, float) and math.isinf(expected):
            assert hp.default is None and hp.nullable and hp.name in spec.null_is_default
            continue
        default = tuple(hp.default) if hp.type == "pair" else hp.default
        assert default == expected, hp.name
        assert hp.name not in FRAMEWORK_SWITCHES


@pytest.mark.parametrize("name", list(OPTIMIZERS), ids=str)
def test_every_default_passes_its_own_schema(name: str) -> None:
    spec = OPTIMIZERS[name]
    values = {hp.name: hp.default for hp in spec.hyperparameters}
    coerced = spec.coerce(values)
    for hp in spec.hyperparameters:
        expected = tuple(hp.default) if hp.type == "pair" else hp.default
        assert coerced[hp.name] == expected
        if hp.type in ("float", "int"):
            assert hp.min is not None and hp.max is not None
            assert hp.slider_min is not None and hp.slider_max is not None
            assert hp.min <= hp.slider_min < hp.slider_max <= hp.max
            if hp.default is not None:
                assert hp.min <= hp.default <= hp.max


def test_scale_parameters_are_logarithmic_and_momentum_spans_0_to_0999() -> None:
    sgd = get_optimizer("SGD")
    assert sgd.hyperparameter("lr").log
    assert get_optimizer("Adam").hyperparameter("eps").log
    momentum = sgd.hyperparameter("momentum")
    assert not momentum.log
    assert (momentum.slider_min, momentum.slider_max) == (0.0, 0.999)
    assert get_optimizer("Adam").hyperparameter("betas").type == "pair"
    assert sgd.hyperparameter("nesterov").type == "bool"
    assert get_optimizer("LBFGS").hyperparameter("max_iter").type == "int"
    assert get_optimizer("LBFGS").hyperparameter("line_search_fn").choices == (None, "strong_wolfe")


def test_descriptions_come_from_torch_docstrings() -> None:
    assert get_optimizer("SGD").hyperparameter("momentum").description == "momentum factor"
    assert "stochastic gradient descent" in get_optimizer("SGD").description


def test_closure_and_matrix_needs() -> None:
    assert get_optimizer("LBFGS").needs_closure
    assert not get_optimizer("SGD").needs_closure
    assert get_optimizer("Muon").param_shape == (1, 2)


@pytest.mark.parametrize(
    ("optimizer", "values", "loc"),
    [
        ("SGD", {"lr": True}, ("hyperparameters", "lr")),
        ("SGD", {"lr": "0.1"}, ("hyperparameters", "lr")),
        ("SGD", {"lr": math.nan}, ("hyperparameters", "lr")),
        ("SGD", {"lr": math.inf}, ("hyperparameters", "lr")),
        ("SGD", {"lr": -1.0}, ("hyperparameters", "lr")),
        ("SGD", {"momentum": 1.5}, ("hyperparameters", "momentum")),
        ("SGD", {"nesterov": 1}, ("hyperparameters", "nesterov")),
        ("SGD", {"betas": [0.9, 0.99]}, ("hyperparameters", "betas")),
        ("Adam", {"betas": [0.9]}, ("hyperparameters", "betas")),
        ("Adam", {"betas": [0.9, 2.0]}, ("hyperparameters", "betas", 1)),
        ("Adam", {"betas": [None, 0.9]}, ("hyperparameters", "betas", 0)),
        ("LBFGS", {"max_iter": 10**9}, ("hyperparameters", "max_iter")),
        ("LBFGS", {"max_iter": 2.5}, ("hyperparameters", "max_iter")),
        ("LBFGS", {"line_search_fn": "armijo"}, ("hyperparameters", "line_search_fn")),
        ("SGD", {"lr": None}, ("hyperparameters", "lr")),
    ],
)
def test_bad_values_name_their_field(
    optimizer: str, values: dict[str, object], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(HyperparameterError) as caught:
        get_optimizer(optimizer).coerce(values)
    assert caught.value.loc == loc


def test_nullable_values_and_whole_numbers() -> None:
    assert get_optimizer("Adafactor").coerce({"eps": [None, 1e-3]}) == {"eps": (None, 1e-3)}
    assert get_optimizer("LBFGS").coerce({"max_eval": None, "max_iter": 5.0}) == {
        "max_eval": None,
        "max_iter": 5,
    }


def test_unknown_optimizer_lists_choices() -> None:
    with pytest.raises(UnknownOptimizer) as caught:
        get_optimizer("Adamm")
    assert caught.value.loc == ("optimizer",)
    assert "Adam" in caught.value.message
