""" "Copy as PyTorch": a standalone script, torch only, that reproduces a run frame for frame.

The script is the engine's loop written out: the same surface function (its own source),
the same optimizer and scheduler arguments, noise from the same seeded generator, clipping
between backward() and step(), and the same stopping rules. It prints `step x y loss` with
Python's round-trip float repr, so its output equals the API's frames digit for digit.
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
    return float(next(hp.default for hp in config.optimizer.hyperparameters if hp.name == "lr"))


def _closure(config: RunConfig, point: str) -> list[str]:
    lines = [
        "    def closure() -> Tensor:",
        "        optimizer.zero_grad()",
        f"        loss = surface({point})",
        "        loss.backward()",
    ]
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
    return lines


def render_script(config: RunConfig) -> str:
    source, name = _surface(config)
    shape = config.optimizer.param_shape
    point = "param" if len(shape) == 1 else "param.reshape(2)"
    (xlo, xhi), (ylo, yhi) = config.bounds()
    step_call = "optimizer.step(closure)" if config.optimizer.needs_closure else "optimizer.step()"
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
        "import torch",
        "from torch import Tensor",
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
        "def main() -> None:",
        f"    param = torch.tensor(START, dtype=DTYPE).reshape({shape!r}).requires_grad_()",
        f"    optimizer = torch.optim.{config.optimizer.name}([param], "
        f"{_kwargs(dict(config.hyperparameters))})",
        *_scheduler(config),
        *generator,
        "",
        *_closure(config, point),
        "",
        "    previous = None",
        "    for step in range(STEPS + 1):",
        "        loss = closure()",
        "        x, y = param.detach().reshape(-1).tolist()",
        "        grad = param.grad.reshape(-1).tolist()",
        "        value = loss.item()",
        "        state = [v for v in optimizer.state[param].values() if isinstance(v, Tensor)]",
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
