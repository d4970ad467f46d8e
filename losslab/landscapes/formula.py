"""Your own surface: a formula in x and y becomes a torch function, so autograd drives it.

The text is parsed with `ast` and checked against a whitelist of node types; it is never
given to eval or exec. Allowed: numbers, x, y, pi, e, + - * / **, unary minus, parentheses,
and the functions in `FUNCTIONS`. Exponents must be constants of magnitude at most
`MAX_EXPONENT`, and a constant negative base needs a whole one (else the value is complex).
Numbers become floats (integral exponents stay ints), so no arithmetic on constants can
grow without bound. The compiled function walks the checked tree with the
same operators Python would use, so it equals the same expression written in Python over
torch tensors (see `python_source`).
"""

from __future__ import annotations

import ast
import inspect
import math
import operator
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor

from ..calculus import gradient_and_hessian
from ..errors import InvalidInput
from .formula_functions import FUNCTIONS, _tensor
from .surfaces import Domain, Minimum, Surface

MAX_LENGTH = 500
MAX_DEPTH = 50
MAX_EXPONENT = 16
MAX_COORDINATE = 1e6
CHECK_RESOLUTION = 101
DEFAULT_DOMAIN = Domain((-3.0, 3.0), (-3.0, 3.0))


CONSTANTS = {"pi": math.pi, "e": math.e}
BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
Evaluator = Callable[[Tensor, Tensor], Any]


class FormulaError(InvalidInput):
    def __init__(self, message: str, field: str = "formula") -> None:
        super().__init__(("surface", field), message)


def _where(node: ast.AST) -> str:
    return f" (at column {getattr(node, 'col_offset', 0) + 1})"


def _exponent(node: ast.expr) -> ast.Constant:
    """A Pow's right side, which must be a small constant; integral ones stay ints."""
    sign = 1
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > MAX_EXPONENT:
        raise FormulaError(
            f"exponents must be numbers between -{MAX_EXPONENT} and {MAX_EXPONENT}{_where(node)}"
        )
    value = sign * value
    return ast.Constant(int(value) if float(value).is_integer() else float(value))


def canonical(node: ast.expr) -> ast.expr:
    """The checked tree with every number a float (exponents: small ints or floats)."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise FormulaError(f"only numbers, x and y may appear{_where(node)}")
        try:
            return ast.Constant(float(node.value))
        except OverflowError:
            raise FormulaError(f"a number is too large{_where(node)}") from None
    if isinstance(node, ast.Name):
        if node.id in ("x", "y") or node.id in CONSTANTS:
            return ast.Name(node.id, ast.Load())
        names = ", ".join(["x", "y", *CONSTANTS, *FUNCTIONS])
        raise FormulaError(f"unknown name {node.id!r}{_where(node)}; allowed: {names}")
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        if isinstance(node.op, ast.Pow):
            power = ast.BinOp(canonical(node.left), node.op, _exponent(node.right))
            _check_real(power, node)
            return power
        return ast.BinOp(canonical(node.left), node.op, canonical(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return ast.UnaryOp(node.op, canonical(node.operand))
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS or node.keywords:
            raise FormulaError(
                f"only these functions may be called: {', '.join(FUNCTIONS)}{_where(node)}"
            )
        arity = FUNCTIONS[name][1]
        if len(node.args) != arity or any(isinstance(a, ast.Starred) for a in node.args):
            raise FormulaError(
                f"{name} takes {arity} argument{'s' if arity > 1 else ''}{_where(node)}"
            )
        return ast.Call(ast.Name(name, ast.Load()), [canonical(a) for a in node.args], [])
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        raise _BadOperator(node)
    raise FormulaError(f"{type(node).__name__} is not allowed in a formula{_where(node)}")


class _BadOperator(Exception):
    """An operator outside the whitelist; `parse` names it and its column in the text."""

    def __init__(self, node: ast.BinOp | ast.UnaryOp) -> None:
        super().__init__()
        self.node = node


def _operator_message(text: str, node: ast.BinOp | ast.UnaryOp) -> str:
    """Say which operator is refused and where: a BinOp's own column is its left operand's,
    so the operator is looked for between its operands."""
    column, symbol = node.col_offset, ""
    if isinstance(node, ast.BinOp) and node.left.end_lineno == node.right.lineno == 1:
        start = node.left.end_col_offset or 0
        gap = text[start : node.right.col_offset]
        offset = next((k for k, c in enumerate(gap) if c not in " \t)"), 0)
        column = start + offset
        symbol = gap[offset:].split("(")[0].strip()
    elif isinstance(node, ast.UnaryOp) and node.lineno == node.operand.lineno == 1:
        symbol = text[node.col_offset : node.operand.col_offset].strip()
    if isinstance(node.op, ast.BitXor):
        return f"^ is not a power in Python: write x**2, not x^2 (at column {column + 1})"
    refused = f"{symbol} " if symbol else ""
    return (
        f"only the operators + - * / ** may be used; {refused}is not one (at column {column + 1})"
    )


def _check_real(power: ast.BinOp, node: ast.expr) -> None:
    """Refuse a constant negative base to a fractional power: Python's float ** makes it a
    complex number (torch's a NaN), which no loss can be. Bases with x or y are left to the
    finiteness check over the domain, since they may be negative only in places."""
    assert isinstance(power.right, ast.Constant)
    exponent = power.right.value
    assert isinstance(exponent, int | float)  # `_exponent` keeps whole ones as ints
    if isinstance(exponent, int) or any(
        isinstance(n, ast.Name) and n.id in ("x", "y") for n in ast.walk(power.left)
    ):
        return
    unused = torch.zeros((), dtype=torch.float64)  # the base holds neither x nor y
    try:
        base = _evaluator(power.left)(unused, unused)
    except (ArithmeticError, RuntimeError, TypeError, ValueError):
        return  # the finiteness check names the problem
    value = float(base)
    if value < 0:
        raise FormulaError(
            f"({value:g}) ** {exponent:g} is a complex number, not a real loss: a negative "
            f"base needs a whole exponent{_where(node)}"
        )


def _depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = depth if depth > deepest else deepest
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def parse(text: object) -> ast.expr:
    """The whitelisted, canonical tree of a formula, or FormulaError saying what is wrong."""
    if not isinstance(text, str):
        raise FormulaError("the formula must be a string")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise FormulaError("the formula is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise FormulaError(f"syntax error at column {error.offset or 0}: {error.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError("the formula is nested too deeply") from None
    if _depth(tree) > MAX_DEPTH + 1:
        raise FormulaError(f"the formula is nested deeper than {MAX_DEPTH} levels")
    try:
        return canonical(tree.body)
    except _BadOperator as bad:
        raise FormulaError(_operator_message(text.strip(), bad.node)) from None


def _evaluator(node: ast.expr) -> Evaluator:
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda x, y: value
    if isinstance(node, ast.Name):
        if node.id == "x":
            return lambda x, y: x
        if node.id == "y":
            return lambda x, y: y
        constant = CONSTANTS[node.id]
        return lambda x, y: constant
    if isinstance(node, ast.BinOp):
        left, right, op = _evaluator(node.left), _evaluator(node.right), BINARY[type(node.op)]
        return lambda x, y: op(left(x, y), right(x, y))
    if isinstance(node, ast.UnaryOp):
        operand, unary = _evaluator(node.operand), UNARY[type(node.op)]
        return lambda x, y: unary(operand(x, y))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    function = FUNCTIONS[node.func.id][0]
    args = [_evaluator(a) for a in node.args]
    return lambda x, y: function(*(a(x, y) for a in args))


def compile_formula(text: str) -> Callable[[Tensor], Tensor]:
    """A surface function (..., 2) -> (...) computing the formula."""
    evaluate = _evaluator(parse(text))

    def fn(p: Tensor) -> Tensor:
        x, y = p[..., 0], p[..., 1]
        value = evaluate(x, y)
        if not isinstance(value, Tensor) or value.shape != x.shape:
            value = value + 0 * x  # a formula without x or y is still a (flat) surface
        result: Tensor = value
        return result

    return fn


def python_source(text: str, name: str = "f") -> str:
    """Standalone Python source of the same function, with the helpers it calls."""
    tree = parse(text)
    used = sorted(
        {
            n.func.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        }
    )
    helpers = [inspect.getsource(FUNCTIONS[n][0]) for n in used]
    if used:
        helpers.insert(0, inspect.getsource(_tensor))
    constants = [
        f"{c} = math.{c}\n"
        for c in CONSTANTS
        if any(isinstance(n, ast.Name) and n.id == c for n in ast.walk(tree))
    ]
    body = (
        f"def {name}(p: Tensor) -> Tensor:\n"
        f"    x, y = p[..., 0], p[..., 1]\n"
        f"    value = {ast.unparse(tree)}\n"
        f"    if not isinstance(value, Tensor) or value.shape != x.shape:\n"
        f"        value = value + 0 * x\n"
        f"    return value\n"
    )
    return "\n\n".join([*helpers, *constants, body])


def _domain(domain: Any) -> Domain:
    if domain is None:
        return DEFAULT_DOMAIN
    axes = []
    for axis in ("x", "y"):
        span = getattr(domain, axis, None) if not isinstance(domain, dict) else domain.get(axis)
        ok = isinstance(span, list | tuple) and len(span) == 2
        lo, hi = (float(span[0]), float(span[1])) if ok else (math.nan, math.nan)  # type: ignore[index]
        if not (ok and -MAX_COORDINATE <= lo < hi <= MAX_COORDINATE and hi - lo > 1e-9):
            raise FormulaError(
                f"domain.{axis} must be [lo, hi] with lo < hi within ±{MAX_COORDINATE:g}", "domain"
            )
        axes.append((lo, hi))
    return Domain(axes[0], axes[1])


def _find_minima(fn: Callable[[Tensor], Tensor], domain: Domain) -> tuple[Minimum, ...]:
    """Minima found numerically: Newton's method from every grid cell lower than its neighbours."""
    xs = torch.linspace(*domain.x, CHECK_RESOLUTION, dtype=torch.float64)
    ys = torch.linspace(*domain.y, CHECK_RESOLUTION, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)
    with torch.no_grad():
        z = fn(grid)
    padded = torch.nn.functional.pad(z[None, None], (1, 1, 1, 1), value=math.inf)[0, 0]
    lowest = torch.nn.functional.max_pool2d(-padded[None, None], 3, stride=1)[0, 0] == -z
    seeds = grid[lowest][:64]
    if len(seeds) == 0:
        return ()
    p = seeds.clone()
    for _ in range(30):
        g, h = gradient_and_hessian(fn, p)
        step = torch.linalg.lstsq(h, g.unsqueeze(-1)).solution.squeeze(-1)
        p = torch.where(torch.isfinite(step), p - step, p)
    g, h = gradient_and_hessian(fn, p)
    eig = torch.linalg.eigvalsh(torch.where(torch.isfinite(h), h, torch.zeros_like(h)))
    inside = (
        (p[:, 0] >= domain.x[0])
        & (p[:, 0] <= domain.x[1])
        & (p[:, 1] >= domain.y[0])
        & (p[:, 1] <= domain.y[1])
    )
    good = inside & (g.norm(dim=1) < 1e-8) & (eig[:, 0] > 0) & torch.isfinite(eig).all(1)
    found: list[tuple[float, float, float]] = []
    with torch.no_grad():
        losses = fn(p)
    for (x, y), loss in zip(p[good].tolist(), losses[good].tolist(), strict=True):
        if all(math.dist((x, y), (a, b)) > 1e-6 for a, b, _ in found):
            found.append((x, y, loss))
    if not found:
        return ()
    best = min(loss for _, _, loss in found)
    return tuple(
        Minimum(x, y, "global" if loss - best <= 1e-9 * (1 + abs(best)) else "local")
        for x, y, loss in found
    )


@lru_cache(maxsize=256)
def _surface(text: str, domain: Domain) -> Surface:
    fn = compile_formula(text)
    xs = torch.linspace(*domain.x, CHECK_RESOLUTION, dtype=torch.float64)
    ys = torch.linspace(*domain.y, CHECK_RESOLUTION, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)
    try:
        with torch.no_grad():
            z = fn(grid)
            z32 = fn(grid.float())
    except ZeroDivisionError:
        raise FormulaError("the formula divides by zero") from None
    except OverflowError:
        raise FormulaError("a constant part of the formula is too large") from None
    except (RuntimeError, TypeError, ValueError) as error:
        raise FormulaError(f"the formula cannot be evaluated: {error}") from None
    bad = ~(torch.isfinite(z) & torch.isfinite(z32))
    if bool(bad.any()):
        i, j = (int(v) for v in bad.nonzero()[0])
        where = f"({float(xs[j]):.4g}, {float(ys[i]):.4g})"
        raise FormulaError(
            f"the formula is not finite at {where}; choose a domain where it is defined"
        )
    return Surface(
        name="custom",
        title="Your formula",
        description="A surface you typed; its minima were found numerically (Newton from a grid).",
        formula=text,
        fn=fn,
        domain=domain,
        default_start=(
            domain.x[0] + 0.8 * (domain.x[1] - domain.x[0]),
            domain.y[0] + 0.8 * (domain.y[1] - domain.y[0]),
        ),
        minima=_find_minima(fn, domain),
        saddles=(),
        source=python_source(text),
    )


def formula_surface(text: object, domain: Any = None) -> Surface:
    """The Surface for a user's formula over `domain` ({x: [lo, hi], y: [lo, hi]})."""
    parse(text)
    assert isinstance(text, str)
    return _surface(text.strip(), _domain(domain))
