""" "Copy as PyTorch": a standalone script that reproduces a run frame for frame.

The script is the engine's loop written out: the same surface function (its own source),
the same optimizer and scheduler arguments, noise from the same seeded generator, clipping
between backward() and step(), and the same stopping rules. It prints `step x y loss` with
Python's round-trip float repr, so its output equals the API's frames digit for digit.
It imports torch, and pytorch_optimizer when the run's optimizer comes from there.

Each family is stepped as the engine steps it (optimizer_catalog.FAMILIES): a closure for
LBFGS, AliG and the SAM family; the gradient's graph kept for AdaHessian and SophiaH, whose
Hutchinson probes draw from torch's generator seeded as the run's; Schedule-Free frames at
the evaluation point.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from .engine import RunConfig


def _kwargs(values: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in values.items())


def _surface(config: RunConfig) -> tuple[str, str]:
    """The surface's source and the name of its function."""
    surface = config.surface
    if surface.source:
        return surface.source, "f"
    return inspect.getsource(surface.fn), surface.fn.__name__


def _scheduler(config: RunConfig) -> list[str]:
    if config.scheduler is None:
        return []
    spec = config.scheduler.spec
    lr = config.hyperparameters.get("lr", _default_lr(config))
    kwargs = spec.resolved(config.scheduler.params, config.steps, float(lr))
    main = f"torch.optim.lr_scheduler.{spec.name}(optimizer, {_kwargs(kwargs)})"
    warmup = config.scheduler.warmup
    if warmup is None:
        return [f"    scheduler = {main}"]
    return [
        "    warmup = torch.optim.lr_scheduler.LinearLR(",
        f"        optimizer, start_factor={warmup.start_factor!r}, end_factor=1.0, "
        f"total_iters={warmup.steps!r}",
        "    )",
        f"    main_schedule = {main}",
        "    scheduler = torch.optim.lr_scheduler.SequentialLR(",
        f"        optimizer, [warmup, main_schedule], milestones=[{warmup.steps!r}]",
        "    )",
    ]


def _default_lr(config: RunConfig) -> float:
    spec = config.optimizer
    return float(spec.hyperparameter("lr", spec.base_of(config.hyperparameters)).default)


def _closure(config: RunConfig, point: str) -> list[str]:
    family = config.optimizer.family
    lines = ["    def closure() -> Tensor:"]
    if family == "sharpness":
        lines += [
            "        # Inside step() this is the gradient at the ascent point.",
            "        ascent.append(param.detach().reshape(-1).tolist())",
        ]
    lines += ["        optimizer.zero_grad()", f"        loss = surface({point})"]
    if family == "hessian":
        lines += [
            "        # backward(create_graph=True): the Hutchinson probes differentiate again.",
            "        (param.grad,) = torch.autograd.grad(loss, param, create_graph=True)",
        ]
    else:
        lines.append("        loss.backward()")
    if config.noise is not None:
        lines += [
            "        noise = torch.randn(param.shape, generator=generator, dtype=param.dtype)",
            f"        param.grad.add_(noise * {config.noise.std!r})",
        ]
    clip = config.clip
    if clip is not None and clip.max_value is not None:
        lines.append(f"        torch.nn.utils.clip_grad_value_([param], {clip.max_value!r})")
    elif clip is not None:
        norm = "math.inf" if math.isinf(clip.norm_type) else repr(clip.norm_type)
        lines.append(f"        torch.nn.utils.clip_grad_norm_([param], {clip.max_norm!r}, {norm})")
    lines.append("        return loss")
    if config.optimizer.needs_closure:
        body = ["    " + line for line in lines[1:]]
        lines = [lines[0], "        with torch.enable_grad():", *body]
    return lines


def _evaluation_point(point: str) -> list[str]:
    """Schedule-Free: the frame shows what optimizer.eval() puts in the parameters; the
    training point is put back exactly (eval()/train() do not round-trip in floating point)."""
    return [
        "        train_point = param.detach().clone()",
        "        optimizer.eval()",
        "        x, y = param.detach().reshape(-1).tolist()",
        "        with torch.no_grad():",
        f"            value = surface({point}).item()",
        "        optimizer.train()",
        "        with torch.no_grad():",
        "            param.copy_(train_point)",
    ]


_MODEL_OF = [
    "class Holder(torch.nn.Module):",
    '    """The model a model-taking optimizer is given: it holds the point."""',
    "",
    "    def __init__(self, param: Tensor) -> None:",
    "        super().__init__()",
    "        self.held = [param]",
    "",
    '    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):',
    '        yield f"{prefix}point0", self.held[0]',
    "",
    "    def parameters(self, recurse=True):",
    "        yield from self.held",
    "",
    "",
    "def model_of(param: Tensor) -> Holder:",
    "    return Holder(param)",
    "",
    "",
]


def _imports(config: RunConfig) -> list[str]:
    """torch, and the pytorch_optimizer classes the run names (its own and its base's)."""
    spec = config.optimizer
    base = spec.base_of(config.hyperparameters)
    names = sorted(
        {s.cls.__name__ for s in (spec, base) if s is not None and s.source != "torch.optim"}
    )
    lines = ["import torch", "from torch import Tensor"]
    if names:
        lines += ["", f"from pytorch_optimizer import {', '.join(names)}"]
    return lines


def _grouped(config: RunConfig) -> dict[str, list[str]]:
    """The lines that differ when x and y are two parameter groups (`px`, `py`)."""
    assert config.param_groups is not None
    spec = config.optimizer
    groups = ", ".join(
        "{" + ", ".join([f'"params": [{leaf}]', *(f"{k!r}: {v!r}" for k, v in g.items())]) + "}"
        for leaf, g in zip(("px", "py"), config.param_groups, strict=True)
    )
    call = spec.describe_call(config.hyperparameters, params=f"[{groups}]")
    return {
        "create": [
            "    # x and y as two parameter groups, each with its own settings.",
            "    px = torch.tensor(START[:1], dtype=DTYPE).requires_grad_()",
            "    py = torch.tensor(START[1:], dtype=DTYPE).requires_grad_()",
            f"    optimizer = {call}",
        ],
        "read": [
            "        x, y = px.item(), py.item()",
            "        grad = [px.grad.item(), py.grad.item()]",
        ],
        "state": [
            "        state = [",
            "            v for p in (px, py) for v in optimizer.state[p].values()",
            "            if isinstance(v, Tensor)",
            "        ]",
        ],
    }


def render_script(config: RunConfig) -> str:
    source, name = _surface(config)
    spec = config.optimizer
    shape = spec.param_shape
    point = "param" if len(shape) == 1 else "param.reshape(2)"
    grouped = None if config.param_groups is None else _grouped(config)
    if grouped is not None:
        point = "torch.cat([px, py])"
    (xlo, xhi), (ylo, yhi) = config.bounds()
    step_call = "optimizer.step(closure)" if spec.needs_closure else "optimizer.step()"
    schedule_free = spec.family == "schedule_free"
    seed = 0 if config.noise is None else config.noise.seed
    scheduler_step = []
    if config.scheduler is not None:
        argument = "value" if config.scheduler.spec.needs_loss else ""
        scheduler_step = [f"        scheduler.step({argument})"]
    generator = []
    if config.noise is not None:
        generator = [f"    generator = torch.Generator().manual_seed({config.noise.seed!r})"]
    lines = [
        f'"""A losslab run reproduced with plain torch: {config.optimizer.name} on '
        f"{config.surface.title}.",
        "",
        "Prints one line per frame: step, x, y, loss. Frame k is the point after k steps.",
        '"""',
        "",
        "import math",
        "",
        *_imports(config),
        "",
        "",
        source.rstrip(),
        "",
        "",
        f"surface = {name}",
        f"START = {list(config.start)!r}",
        f"STEPS = {config.steps!r}",
        f"DTYPE = torch.{config.dtype}",
        "# Stop rules: leaving this box is divergence; gradient and step both below TOL is",
        "# convergence; any non-finite value is divergence (that frame is not printed).",
        f"BOUNDS = (({xlo!r}, {xhi!r}), ({ylo!r}, {yhi!r}))",
        f"TOL = {config.tolerance!r}",
        "",
        "",
        *(_MODEL_OF if spec.takes_model else []),
        "def main() -> None:",
        "    # The run's random stream: what a library optimizer draws inside step().",
        f"    torch.manual_seed({seed!r})",
        *(
            grouped["create"]
            if grouped is not None
            else [
                f"    param = torch.tensor(START, dtype=DTYPE).reshape({shape!r}).requires_grad_()",
                f"    optimizer = {spec.describe_call(config.hyperparameters)}",
            ]
        ),
        *(["    optimizer.train()"] if schedule_free else []),
        *(["    ascent = []"] if spec.family == "sharpness" else []),
        *_scheduler(config),
        *generator,
        "",
        *_closure(config, point),
        "",
        "    previous = None",
        "    for step in range(STEPS + 1):",
        "        loss = closure()",
        *(
            grouped["read"]
            if grouped is not None
            else [
                "        x, y = param.detach().reshape(-1).tolist()",
                "        grad = param.grad.reshape(-1).tolist()",
            ]
        ),
        "        value = loss.item()",
        *(_evaluation_point(point) if schedule_free else []),
        *(
            grouped["state"]
            if grouped is not None
            else [
                "        state = [v for v in optimizer.state[param].values() "
                "if isinstance(v, Tensor)]"
            ]
        ),
        "        finite = all(math.isfinite(v) for v in (x, y, value, *grad))",
        "        if not finite or not all(bool(torch.isfinite(v).all()) for v in state):",
        '            print("# diverged: a value became non-finite")',
        "            return",
        "        print(step, repr(x), repr(y), repr(value))",
        "        (xlo, xhi), (ylo, yhi) = BOUNDS",
        "        if not (xlo <= x <= xhi and ylo <= y <= yhi):",
        '            print("# diverged: the point left the bounds")',
        "            return",
        "        if previous is not None and math.hypot(*grad) <= TOL:",
        "            if math.hypot(x - previous[0], y - previous[1]) <= TOL:",
        '                print("# converged")',
        "                return",
        "        if step == STEPS:",
        "            return",
        "        previous = (x, y)",
        f"        {step_call}",
        *scheduler_step,
        "",
        "",
        'if __name__ == "__main__":',
        "    main()",
        "",
    ]
    return "\n".join(lines)
