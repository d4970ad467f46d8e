""" "Copy as PyTorch": a standalone script that reproduces a run frame for frame.

The script is the engine's loop written out: the same surface function (its own source),
the same optimizer and scheduler arguments, noise from the same seeded generator, clipping
between backward() and step(), and the same stopping rules. It prints `step x y loss` with
Python's round-trip float repr, so its output equals the API's frames digit for digit.
It imports torch, and pytorch_optimizer when the run's optimizer comes from there.

A regression model's run is the plain training loop: its data (drawn by the data set's own
seeded function, or uploaded values written out), the DataLoader or the full batch,
`nn.Linear(1, 1)`, the loss and the optimizer over `model.parameters()`; it prints
`step w b loss` (`step w loss` without a bias), the loss being the full-data loss the
engine logs per frame. nn.Linear holds w and b as two tensors where the engine steps one,
which is the same run for the element-wise optimizers only: the others are refused.

Each family is stepped as the engine steps it (optimizer_catalog.FAMILIES): a closure for
LBFGS, AliG and the SAM family; the gradient's graph kept for AdaHessian and SophiaH, whose
Hutchinson probes draw from torch's generator seeded as the run's; Schedule-Free frames at
the evaluation point.
"""

from __future__ import annotations

import inspect
import math
import textwrap
from typing import Any

from .engine import RunConfig
from .errors import InvalidInput
from .landscapes.models import NAMED_DATASETS, ModelSurface, full_loss_parts
from .landscapes.network import NetworkSurface
from .maps import BASIN_ROWS as ELEMENT_WISE
from .maps import ROW_COUPLING


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
    return ["import torch", "from torch import Tensor", *_library_imports(config)]


def _library_imports(config: RunConfig) -> list[str]:
    """The pytorch_optimizer classes the run names (its own and its base's), if any."""
    spec = config.optimizer
    base = spec.base_of(config.hyperparameters)
    names = sorted(
        {s.cls.__name__ for s in (spec, base) if s is not None and s.source != "torch.optim"}
    )
    return ["", f"from pytorch_optimizer import {', '.join(names)}"] if names else []


def _grouped_call(config: RunConfig, leaves: tuple[str, str]) -> str:
    """The optimizer's constructor over two parameter groups, x's leaf and y's."""
    assert config.param_groups is not None
    groups = ", ".join(
        # One quote style: the keys as the tutorials write them, 'params' like the others.
        "{" + ", ".join([f"'params': [{leaf}]", *(f"{k!r}: {v!r}" for k, v in g.items())]) + "}"
        for leaf, g in zip(leaves, config.param_groups, strict=True)
    )
    return config.optimizer.describe_call(config.hyperparameters, params=f"[{groups}]")


def _grouped(config: RunConfig) -> dict[str, list[str]]:
    """The lines that differ when x and y are two parameter groups (`px`, `py`)."""
    call = _grouped_call(config, ("px", "py"))
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


def _run_constants(config: RunConfig, start: list[float]) -> list[str]:
    """The script's START, STEPS, DTYPE and the engine's stop rules (BOUNDS, TOL)."""
    (xlo, xhi), (ylo, yhi) = config.bounds()
    return [
        f"START = {start!r}",
        f"STEPS = {config.steps!r}",
        f"DTYPE = torch.{config.dtype}",
        "# Stop rules: leaving this box is divergence; gradient and step both below TOL is",
        "# convergence; any non-finite value is divergence (that frame is not printed).",
        f"BOUNDS = (({xlo!r}, {xhi!r}), ({ylo!r}, {yhi!r}))",
        f"TOL = {config.tolerance!r}",
    ]


def render_script(config: RunConfig) -> str:
    if isinstance(config.surface, NetworkSurface):
        raise UnsupportedScript(("surface", "model"), NETWORK_PLANE)
    if isinstance(config.surface, ModelSurface):
        return _model_script(config, config.surface)
    source, name = _surface(config)
    spec = config.optimizer
    shape = spec.param_shape
    point = "param" if len(shape) == 1 else "param.reshape(2)"
    grouped = None if config.param_groups is None else _grouped(config)
    if grouped is not None:
        point = "torch.cat([px, py])"
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
        *_run_constants(config, list(config.start)),
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


class UnsupportedScript(InvalidInput):
    """A run that Copy as PyTorch cannot (yet) write out as a script that reproduces it."""


NETWORK_PLANE = (
    "Copy as PyTorch writes the regression models (linear_regression, logistic_regression); "
    "mlp_plane, a plane through a trained network's weights, is not exported yet"
)


def _check_model_run(config: RunConfig) -> None:
    """Refuse what a script over nn.Linear's weight and bias (two tensors) would not step as
    the engine steps the one tensor (w, b)."""
    spec = config.optimizer
    if spec.name not in ELEMENT_WISE:
        names = ", ".join(sorted(ELEMENT_WISE))
        raise UnsupportedScript(
            ("optimizer",),
            f"Copy as PyTorch writes model runs for the element-wise optimizers ({names}), "
            "whose steps over nn.Linear's weight and bias equal the run's steps over (w, b); "
            f"{spec.name} is not one of them",
        )
    for (owner, name), _ in ROW_COUPLING.items():
        if spec.name == owner and config.hyperparameters.get(name):
            raise UnsupportedScript(
                ("hyperparameters", name),
                f"{name} takes a norm over a whole tensor, which nn.Linear splits in two: "
                f"Copy as PyTorch writes a model run with {name} 0",
            )


def _wrapped(name: str, values: list[float]) -> list[str]:
    """`name = [...]` with the values' round-trip reprs, wrapped to lines of 88 characters."""
    body = textwrap.wrap(", ".join(repr(v) for v in values), 84)
    return [f"{name} = [", *(f"    {line}" for line in body), "]"]


def _model_data(surface: ModelSurface) -> list[str]:
    """The data set: drawn by its own seeded function, or the uploaded values written out."""
    if surface.dataset:
        make = NAMED_DATASETS[surface.model][surface.dataset]
        return [
            inspect.getsource(make).rstrip(),
            "",
            "",
            "def data() -> tuple[Tensor, Tensor]:",
            f'    """The data set {surface.dataset}, drawn with seed {surface.seed}: float64 '
            'columns (n, 1)."""',
            f"    x, y = {make.__name__}(torch.Generator().manual_seed({surface.seed!r}))",
            "    return x.double().reshape(-1, 1), y.double().reshape(-1, 1)",
        ]
    return [
        *_wrapped("X", surface.data_x.reshape(-1).tolist()),
        *_wrapped("Y", surface.data_y.reshape(-1).tolist()),
        "",
        "",
        "def data() -> tuple[Tensor, Tensor]:",
        '    """The uploaded data set: float64 columns (n, 1)."""',
        "    x = torch.tensor(X, dtype=torch.float64).reshape(-1, 1)",
        "    return x, torch.tensor(Y, dtype=torch.float64).reshape(-1, 1)",
    ]


def _model_batches(surface: ModelSurface) -> list[str]:
    lines = ["def batches(x: Tensor, y: Tensor) -> Iterator[tuple[Tensor, Tensor]]:"]
    if surface.batch_size is None:
        return [
            *lines,
            '    """Batch gradient descent: the whole data set every step."""',
            "    while True:",
            "        yield x, y",
        ]
    doc = '    """One batch per step, epoch after epoch, from a DataLoader in data order."""'
    options = ["shuffle=False,"]
    if surface.shuffle:
        doc = (
            '    """One batch per step, epoch after epoch, from a DataLoader shuffled anew\n'
            '    every epoch by a seeded generator."""'
        )
        options = ["shuffle=True,", f"generator=torch.Generator().manual_seed({surface.seed!r}),"]
    return [
        *lines,
        doc,
        "    loader = DataLoader(",
        "        TensorDataset(x, y),",
        f"        batch_size={surface.batch_size!r},",
        *(f"        {option}" for option in options),
        "    )",
        "    while True:",
        "        yield from loader",
    ]


def _model_transforms(config: RunConfig, params: str) -> list[str]:
    """Noise, then clipping, between backward() and step(), as the engine applies them."""
    lines = []
    if config.noise is not None:
        lines += [
            f"        noise = torch.randn({config.surface.parameters}, generator=generator, "
            f"dtype=DTYPE) * {config.noise.std!r}",
            f"        for param, value in zip({params}, noise):",
            "            param.grad.add_(value)",
        ]
    clip = config.clip
    if clip is not None and clip.max_value is not None:
        lines.append(f"        torch.nn.utils.clip_grad_value_({params}, {clip.max_value!r})")
    elif clip is not None:
        norm = "math.inf" if math.isinf(clip.norm_type) else repr(clip.norm_type)
        lines.append(f"        torch.nn.utils.clip_grad_norm_({params}, {clip.max_norm!r}, {norm})")
    return lines


def _model_script(config: RunConfig, surface: ModelSurface) -> str:
    """A model run as the plain training loop: data, DataLoader, nn.Linear, loss, optimizer."""
    _check_model_run(config)
    bias = surface.bias
    outputs, mean_loss = full_loss_parts(surface.model, surface.loss, bias)
    loss_fn, loss_call = "nn.MSELoss()", "loss_fn(model(xb), yb)"
    if surface.loss == "cross_entropy":
        loss_fn = "nn.BCEWithLogitsLoss()"
    elif surface.model == "logistic_regression":  # MSE on the sigmoid's output
        loss_call = "loss_fn(torch.sigmoid(model(xb)), yb)"
    sources = [inspect.getsource(fn).rstrip() for fn in (outputs, mean_loss)]
    uses_functional = any("F" in fn.__code__.co_names for fn in (outputs, mean_loss))
    params = "model.parameters()"
    names = "w, b" if bias else "w"
    point = "w, b" if bias else "w,"
    read = "model.weight.item(), model.bias.item()" if bias else "model.weight.item()"
    bounds = "xlo <= w <= xhi" + (" and ylo <= b <= yhi" if bias else "")
    moved = "w - previous[0], b - previous[1]" if bias else "w - previous[0]"
    call = (
        config.optimizer.describe_call(config.hyperparameters, params=params)
        if config.param_groups is None
        else _grouped_call(config, ("model.weight", "model.bias"))
    )
    if surface.mini_batched:
        judged = [
            "        # Convergence is judged on the whole data set's gradient, not the batch's.",
            "        judged = full_grad.tolist()",
        ]
    elif config.transforms_gradient:
        judged = ["        judged = own_grad  # the loss's own gradient, before noise and clipping"]
    else:
        judged = ["        judged = grad"]
    scheduler_step = []
    if config.scheduler is not None:
        argument = "value" if config.scheduler.spec.needs_loss else ""
        scheduler_step = [f"        scheduler.step({argument})"]
    imports = [
        "from collections.abc import Iterator",
        "",
        "import torch",
        "from torch import Tensor, nn",
        *(["from torch.nn import functional as F"] if uses_functional else []),
        "from torch.utils.data import DataLoader, TensorDataset",
        *_library_imports(config),
    ]
    start = [config.start[0], config.start[1]] if bias else [config.start[0]]
    lines = [
        f'"""A losslab run reproduced with plain torch: {config.optimizer.name} on '
        f"{surface.title}.",
        "",
        f"Prints one line per frame: step, {names}, loss. Frame k is the model after k steps;",
        "its loss is the whole data set's (the landscape losslab draws), while each step",
        "trains on its batch.",
        '"""',
        "",
        "import math",
        *imports,
        "",
        "",
        *_model_data(surface),
        "",
        "",
        *_model_batches(surface),
        "",
        "",
        *sources[0:1],
        "",
        "",
        *sources[1:2],
        "",
        "",
        "def full_loss(p: Tensor, xs: Tensor, ys: Tensor) -> Tensor:",
        f'    """The loss on the whole data set at p = ({point}), computed as losslab computes',
        '    a frame\'s loss."""',
        f"    return {mean_loss.__name__}({outputs.__name__}(p, xs), ys)",
        "",
        "",
        *_run_constants(config, start),
        "",
        "",
        "def main() -> None:",
        "    x, y = (t.to(DTYPE) for t in data())",
        "    xs, ys = x.reshape(-1), y.reshape(-1)",
        f"    model = nn.Linear(1, 1{'' if bias else ', bias=False'}, dtype=DTYPE)",
        "    with torch.no_grad():",
        "        model.weight.fill_(START[0])",
        *(["        model.bias.fill_(START[1])"] if bias else []),
        f"    loss_fn = {loss_fn}",
        f"    optimizer = {call}",
        *_scheduler(config),
        *(
            [f"    generator = torch.Generator().manual_seed({config.noise.seed!r})"]
            if config.noise is not None
            else []
        ),
        "    data_batches = batches(x, y)",
        "",
        "    previous = None",
        "    for step in range(STEPS + 1):",
        "        xb, yb = next(data_batches)",
        "        optimizer.zero_grad()",
        f"        loss = {loss_call}",
        "        loss.backward()",
        *(
            [f"        own_grad = [p.grad.item() for p in {params}]"]
            if config.transforms_gradient and not surface.mini_batched
            else []
        ),
        *_model_transforms(config, params),
        f"        {names} = {read}",
        f"        grad = [p.grad.item() for p in {params}]",
        "        state = [",
        f"            v for p in {params} for v in optimizer.state[p].values()",
        "            if isinstance(v, Tensor)",
        "        ]",
        f"        finite = all(math.isfinite(v) for v in ({names}, loss.item(), *grad))",
        "        if not finite or not all(bool(torch.isfinite(v).all()) for v in state):",
        '            print("# diverged: a value became non-finite")',
        "            return",
        f"        point = torch.tensor([{names}], dtype=DTYPE, requires_grad=True)",
        "        full = full_loss(point, xs, ys)",
        "        (full_grad,) = torch.autograd.grad(full, point)",
        "        value = full.item()",
        "        if not math.isfinite(value):",
        '            print("# diverged: a value became non-finite")',
        "            return",
        f"        print(step, {', '.join(f'repr({n})' for n in names.split(', '))}, repr(value))",
        "        (xlo, xhi), (ylo, yhi) = BOUNDS",
        f"        if not ({bounds}):",
        '            print("# diverged: the point left the bounds")',
        "            return",
        *judged,
        "        if previous is not None and math.hypot(*judged) <= TOL:",
        f"            if math.hypot({moved}) <= TOL:",
        '                print("# converged")',
        "                return",
        "        if step == STEPS:",
        "            return",
        f"        previous = ({point})",
        "        optimizer.step()",
        *scheduler_step,
        "",
        "",
        'if __name__ == "__main__":',
        "    main()",
        "",
    ]
    return "\n".join(lines)
