"""Your own formula: a whitelist parser, hostile inputs, and equality with plain torch."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from losslab.landscapes.formula import FormulaError, compile_formula, formula_surface
from tests.conftest import strict_json

HOSTILE = [
    "__import__('os').system('true')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "import os",
    "exec('1')",
    "eval('1')",
    "open('/etc/passwd')",
    "globals()",
    "x[0]",
    "lambda: 1",
    "[x for x in range(9)]",
    "{x: 1}",
    "'text'",
    "b'bytes'",
    "f'{x}'",
    "x if y else 1",
    "x < y",
    "x and y",
    "x @ y",
    "x // y",
    "x % y",
    "x := 1",
    "9**9**9",
    "x ** y",
    "x ** 100",
    "2 ** 1000000",
    "((((((((9.0**16)**16)**16)**16)**16)**16)**16)**16)",
    "9" * 400,
    "1/0",
    "log(x)",
    "sqrt(-1 - x**2)",
    "exp(exp(exp(x + 10)))",
    "sin(x, y)",
    "max(x)",
    "sin(x=1)",
    "sin(*[x])",
    "foo(x)",
    "z + 1",
    "pi()",
    "",
    "   ",
    "x +",
    "(" * 300 + "x" + ")" * 300,
    "-" * 499 + "x",
    "+".join(["x"] * 300),
    "sin(" * 60 + "x" + ")" * 60,
    "x" * 501,
    "x + " * 200_000 + "x",
]


def body(formula: str, **extra: Any) -> dict[str, Any]:
    return {"surface": {"formula": formula, **extra}, "optimizer": "Adam", "steps": 20}


@pytest.mark.parametrize("formula", HOSTILE, ids=lambda f: f[:30])
def test_hostile_formulas_are_refused_quickly(client: TestClient, formula: str) -> None:
    started = time.perf_counter()
    response = client.post("/api/runs", json=body(formula))
    assert response.status_code in (413, 422), response.text
    assert time.perf_counter() - started < 2.0
    if response.status_code == 422:
        detail = strict_json(response.text)["detail"][0]
        assert detail["loc"][:3] == ["body", "surface", "formula"] or detail["loc"][:2] == [
            "body",
            "surface",
        ]
        assert detail["msg"]
    assert client.get("/api/surfaces").status_code == 200


def test_messages_point_at_the_problem(client: TestClient) -> None:
    def message(formula: str) -> str:
        response = client.post("/api/runs", json=body(formula))
        return str(strict_json(response.text)["detail"][0]["msg"])

    assert "unknown name 'z'" in message("x + z")
    assert "column 5" in message("x + z")
    assert "Attribute" in message("x.real")
    assert "exponents" in message("x ** y")
    assert "not finite" in message("log(x)")
    assert "longer than 500" in message("x" * 501)
    assert "nested" in message("sin(" * 60 + "x" + ")" * 60)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("x^2 + y**2", "write x**2, not x^2 (at column 2)"),
        ("x**2 + (y+1) ^ 2", "(at column 14)"),
        ("x**2 + y % 3", "% is not one (at column 10)"),
        ("x + y // 2", "// is not one (at column 7)"),
        ("x + ~y", "~ is not one (at column 5)"),
    ],
)
def test_a_refused_operator_is_named_at_its_own_column(formula: str, expected: str) -> None:
    """A binary operator's node starts at its left operand: the column is the operator's."""
    with pytest.raises(FormulaError) as error:
        compile_formula(formula)
    assert expected in error.value.message


def test_a_formula_run_is_the_plain_torch_loop(client: TestClient) -> None:
    formula = "(x**2 + y - 11)**2 + (x + y**2 - 7)**2"
    domain = {"x": [-5, 5], "y": [-5, 5]}
    request = body(formula, domain=domain) | {"start": [0.5, 0.5], "steps": 50}
    frames = strict_json(client.post("/api/runs", json=request).text)["frames"]
    x = torch.tensor([0.5, 0.5], requires_grad=True)
    opt = torch.optim.Adam([x])
    for frame in frames:
        opt.zero_grad()
        loss = (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2
        loss.backward()
        assert [frame["x"], frame["y"]] == x.tolist()
        assert frame["loss"] == loss.item()
        opt.step()


def test_custom_surface_endpoint_finds_minima_and_draws_the_grid(client: TestClient) -> None:
    domain = {"x": [-5, 5], "y": [-5, 5]}
    response = client.post(
        "/api/surfaces/custom?resolution=21",
        json={"formula": "(x**2 + y - 11)**2 + (x + y**2 - 7)**2", "domain": domain},
    )
    assert response.status_code == 200, response.text
    answer = strict_json(response.text)
    minima = answer["surface"]["minima"]
    assert len(minima) == 4 and {m["kind"] for m in minima} == {"global"}
    assert any(abs(m["x"] - 3) < 1e-9 and abs(m["y"] - 2) < 1e-9 for m in minima)
    assert len(answer["grid"]["z"]) == 21
    assert answer["surface"]["domain"] == domain
    bad = client.post("/api/surfaces/custom", json={"formula": "x +", "domain": domain})
    assert bad.status_code == 422
    assert strict_json(bad.text)["detail"][0]["loc"] == ["body", "surface", "formula"]


@pytest.mark.parametrize(
    "domain",
    [{"x": [1, -1], "y": [-1, 1]}, {"x": [0, 1]}, {"x": [0, 1e9], "y": [0, 1]}],
)
def test_bad_domains(client: TestClient, domain: dict[str, Any]) -> None:
    response = client.post("/api/runs", json=body("x**2 + y**2", domain=domain))
    assert response.status_code == 422
    assert strict_json(response.text)["detail"][0]["loc"][:2] == ["body", "surface"]


Expression = tuple[str, Callable[[torch.Tensor, torch.Tensor], Any]]
UNARY_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "softplus": torch.nn.functional.softplus,
}


def as_tensor(value: Any) -> torch.Tensor:
    """Constants enter torch functions as float64 scalars, as the formula's functions say."""
    return torch.as_tensor(value, dtype=torch.float64)


def _leaf() -> st.SearchStrategy[Expression]:
    number = st.floats(0.1, 10, allow_nan=False).map(lambda v: round(v, 3))
    return st.one_of(
        st.just(("x", lambda x, y: x)),
        st.just(("y", lambda x, y: y)),
        st.just(("pi", lambda x, y: math.pi)),
        number.map(lambda v: (repr(v), lambda x, y: v)),
    )


def _extend(inner: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
    def binary(a: Expression, op: str, b: Expression) -> Expression:
        ops: dict[str, Callable[[Any, Any], Any]] = {
            "+": lambda p, q: p + q,
            "-": lambda p, q: p - q,
            "*": lambda p, q: p * q,
            "/": lambda p, q: p / q,
        }
        f = ops[op]
        return f"({a[0]} {op} {b[0]})", lambda x, y: f(a[1](x, y), b[1](x, y))

    def power(a: Expression, n: int) -> Expression:
        return f"({a[0]}) ** {n}", lambda x, y: a[1](x, y) ** n

    def call(name: str, a: Expression) -> Expression:
        f = UNARY_FUNCTIONS[name]
        return f"{name}({a[0]})", lambda x, y: f(as_tensor(a[1](x, y)))

    def minmax(name: str, a: Expression, b: Expression) -> Expression:
        f = torch.minimum if name == "min" else torch.maximum
        return (
            f"{name}({a[0]}, {b[0]})",
            lambda x, y: f(as_tensor(a[1](x, y)), as_tensor(b[1](x, y))),
        )

    return st.one_of(
        st.builds(binary, inner, st.sampled_from(["+", "-", "*", "/"]), inner),
        st.builds(power, inner, st.integers(1, 3)),
        st.builds(lambda a: (f"(-{a[0]})", lambda x, y: -a[1](x, y)), inner),
        st.builds(call, st.sampled_from(sorted(UNARY_FUNCTIONS)), inner),
        st.builds(minmax, st.sampled_from(["min", "max"]), inner, inner),
    )


expressions = st.recursive(_leaf(), _extend, max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(expressions)
def test_accepted_formulas_equal_the_same_expression_in_torch(expression: Expression) -> None:
    text, direct = expression
    points = torch.tensor([[0.3, -1.7], [2.2, 0.9], [-1.1, -0.4]], dtype=torch.float64)
    try:
        value = direct(points[:, 0], points[:, 1])
    except ZeroDivisionError:  # a constant part such as pi / (pi - pi): refused, not run
        with pytest.raises(FormulaError, match="divides by zero"):
            formula_surface(text)
        return
    got = compile_formula(text)(points)
    expected = torch.as_tensor(value, dtype=torch.float64)
    expected = expected.expand(got.shape) if expected.dim() == 0 else expected
    torch.testing.assert_close(got, expected, rtol=0, atol=0, equal_nan=True)


COMPLEX = [
    "(-1)**0.5 + x**2 + y**2",  # the audit's case
    "(-8) ** -0.5 * x",
    "(1 - 2) ** 1.5 + x",
    "(-pi) ** 0.25 + y",
    "x + sin(4) ** 0.5",  # sin(4) < 0: the constant base is a tensor, torch would give NaN
    "x + ((-1) ** 0.5) ** 2",  # squaring it back does not make the formula real
    "x + 2j",  # complex literals
    "1j * x**2",
]


@pytest.mark.parametrize("formula", COMPLEX)
def test_complex_valued_formulas_are_refused_as_the_formula(formula: str) -> None:
    with pytest.raises(FormulaError) as raised:
        formula_surface(formula)
    assert raised.value.loc == ("surface", "formula")
    assert "complex" in raised.value.message or "only numbers" in raised.value.message


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/runs", {"optimizer": "Adam", "steps": 20}),
        ("/api/runs/stream", {"optimizer": "Adam", "steps": 20}),
        ("/api/runs/script", {"optimizer": "Adam", "steps": 20}),
        ("/api/maps/basins", {"optimizer": "Adam", "steps": 20, "resolution": 4}),
        ("/api/maps/hyperparameters", {"optimizer": "SGD", "steps": 20}),
    ],
)
def test_a_complex_formula_is_a_422_on_every_route(
    client: TestClient, path: str, extra: dict[str, Any]
) -> None:
    response = client.post(path, json={"surface": {"formula": COMPLEX[0]}, **extra})
    assert response.status_code == 422, response.text
    detail = strict_json(response.text)["detail"][0]
    assert detail["loc"] == ["body", "surface", "formula"]
    assert "(-1) ** 0.5 is a complex number" in detail["msg"]
    custom = client.post("/api/surfaces/custom", json={"formula": COMPLEX[0]})
    assert custom.status_code == 422
    assert strict_json(custom.text)["detail"][0]["loc"] == ["body", "surface", "formula"]


@pytest.mark.parametrize(
    ("formula", "value"),
    [
        ("(-1)**2 * x**2", 4.0),  # a whole exponent keeps a negative base real
        ("(-2)**-1 + x**2", 3.5),
        ("(-0.0)**0.5 + x**2", 4.0),
        ("2**0.5 + x**2", math.sqrt(2) + 4),
        ("-1 ** 0.5 + x**2", 3.0),  # −(1 ** 0.5): the power binds tighter
    ],
)
def test_real_powers_of_constants_stay_allowed(formula: str, value: float) -> None:
    fn = formula_surface(formula).fn
    assert fn(torch.tensor([2.0, 0.0], dtype=torch.float64)).item() == pytest.approx(value)
