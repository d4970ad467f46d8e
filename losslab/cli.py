"""The `losslab` command: serve the app, or run optimizers from the terminal.

losslab serve [--host H] [--port P] [--workers N] [--log-level L] [--timeout-graceful-shutdown S]
losslab run --surface bowl --optimizer SGD --lr 0.1 --start 3 2 --steps 10 [--format csv|json]
losslab benchmark [--optimizer 'SGD {"momentum": 0.9}' ...] [--surface bowl ...]
                  [--format markdown|csv|json]
losslab surfaces
losslab optimizers
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from .config import Settings
from .errors import InvalidInput


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging plus ours: `losslab.access` writes one JSON line per request to stderr."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["line"] = {"format": "%(message)s"}
    config["handlers"]["line"] = {
        "class": "logging.StreamHandler",
        "formatter": "line",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["losslab"] = {"handlers": ["default"], "level": level, "propagate": False}
    config["loggers"]["losslab.access"] = {"handlers": ["line"], "propagate": False}
    return config


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .web.server import uvicorn_options

    level = args.log_level.upper()
    # The app reads its settings from the environment, in this process and in every worker.
    os.environ["LOSSLAB_LOG_LEVEL"] = level
    # uvicorn shuts down gracefully on SIGTERM, then raises it again with the handler it found:
    # this one, so that a requested stop exits with 0 rather than as killed by a signal.
    signal.signal(signal.SIGTERM, _stopped)
    try:
        uvicorn.run(
            f"{__package__}.main:app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            reload=args.reload,
            log_level=args.log_level.lower(),
            log_config=log_config(level),
            access_log=False,  # losslab.access logs every request instead
            timeout_graceful_shutdown=args.timeout_graceful_shutdown,
            **uvicorn_options(Settings()),
        )
    except KeyboardInterrupt:
        return 130
    return 0


def _hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in args.hp:
        name, sep, text = item.partition("=")
        if not sep:
            raise InvalidInput(("hyperparameters",), f"--hp takes name=value, got {item!r}")
        try:
            values[name] = json.loads(text)
        except json.JSONDecodeError:
            values[name] = text
    if args.lr is not None:
        values["lr"] = args.lr
    if args.momentum is not None:
        values["momentum"] = args.momentum
    return values


def _run(args: argparse.Namespace) -> int:
    from . import engine

    config = engine.make_config(
        surface=args.surface,
        optimizer=args.optimizer,
        hyperparameters=_hyperparameters(args),
        start=args.start,
        steps=args.steps,
        dtype=args.dtype,
        # The server's limit does not bind the terminal; it only names the range in errors.
        max_steps=max(args.steps, Settings().max_steps),
    )
    status, frames, summary = engine.run(config)
    if args.format == "json":
        json.dump({"status": status, "frames": frames, "summary": summary.as_dict()}, sys.stdout)
        sys.stdout.write("\n")
    else:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["step", "x", "y", "loss", "grad_x", "grad_y", "lr"])
        for f in frames:
            writer.writerow([f["step"], f["x"], f["y"], f["loss"], *f["grad"], f["lr"]])
        print(f"# {status}: {summary.reason}", file=sys.stderr)
    return 0


def _entry(text: str) -> Any:
    """`NAME` or `NAME {json settings}`: one optimizer of a benchmark."""
    from .benchmark import Entry

    name, _, rest = text.strip().partition(" ")
    settings: Any = {}
    if rest.strip():
        try:
            settings = json.loads(rest)
        except json.JSONDecodeError:
            settings = None
    if not isinstance(settings, dict):
        raise InvalidInput(
            ("optimizers",),
            f"--optimizer takes a name and, optionally, a JSON object of settings "
            f"(e.g. 'SGD {{\"momentum\": 0.9}}'); got {text!r}",
        )
    return Entry(name, settings)


class _ProgressBar:
    """A progress bar on stderr, redrawn when it moves by a whole percent (by ten when the
    stream is a file or pipe rather than a terminal)."""

    WIDTH = 30

    def __init__(self, stream: Any) -> None:
        self.stream, self.shown = stream, -1
        self.step = 1 if stream.isatty() else 10

    def __call__(self, fraction: float) -> None:
        percent = int(fraction * 100) // self.step * self.step
        if percent == self.shown:
            return
        self.shown = percent
        filled = round(fraction * self.WIDTH)
        bar = "█" * filled + "·" * (self.WIDTH - filled)
        self.stream.write(f"\rbenchmark [{bar}] {percent:3d}%")
        self.stream.flush()

    def close(self) -> None:
        if self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()


def _benchmark(args: argparse.Namespace) -> int:
    from . import benchmark

    default = benchmark.Request()
    request = benchmark.Request(
        optimizers=tuple(_entry(t) for t in args.optimizer) or default.optimizers,
        surfaces=tuple(args.surface) or default.surfaces,
        steps=args.steps,
        lr=benchmark.LrGrid(args.lr_min, args.lr_max, args.lr_n),
        starts=args.starts,
        seed=args.seed,
        tolerance=args.tolerance,
        escape_margin=args.escape_margin,
        dtype=args.dtype,
    )
    # Nothing times out in the terminal; the sizes still bind (LOSSLAB_MAX_BENCHMARK_*).
    limits = Settings().model_copy(update={"job_seconds": float("inf")})
    checked = benchmark.plan(request, limits=limits)
    bar = None if args.quiet else _ProgressBar(sys.stderr)
    try:
        answer = benchmark.with_exports(benchmark.run(checked, bar))
    finally:
        if bar is not None:
            bar.close()
    if args.format == "json":
        json.dump(answer, sys.stdout)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(answer["exports"][args.format])
    if not args.quiet:
        print(f"# {answer['seconds']:.1f} s", file=sys.stderr)
    return 0


def _surfaces(args: argparse.Namespace) -> int:
    from .landscapes.surfaces import SURFACES

    for s in SURFACES.values():
        print(f"{s.name:16} {s.formula}")
    return 0


def _settings(args: argparse.Namespace) -> int:
    """Every setting: its environment variable, its value here (default or set) and meaning."""
    current = Settings()
    for name, field in Settings.model_fields.items():
        value = getattr(current, name)
        print(f"LOSSLAB_{name.upper()}={json.dumps(value)}")
        text = " ".join((field.description or "").split())
        print(f"    {text}" if text else "")
    return 0


def _optimizers(args: argparse.Namespace) -> int:
    from .optimizers import OPTIMIZERS

    for spec in OPTIMIZERS.values():
        defaults = ", ".join(f"{hp.name}={hp.default}" for hp in spec.hyperparameters)
        print(f"{spec.name:10} {defaults}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="losslab",
        description="Watch real torch.optim optimizers move on 2D loss landscapes.",
    )
    commands = top.add_subparsers(dest="command", required=True)

    defaults = Settings()
    serve = commands.add_parser("serve", help="serve the web app and the API")
    serve.add_argument(
        "--host", default=defaults.host, help=f"address to bind (default {defaults.host})"
    )
    serve.add_argument(
        "--port", type=int, default=defaults.port, help=f"port (default {defaults.port})"
    )
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--log-level",
        default=defaults.log_level,
        choices=["critical", "error", "warning", "info", "debug"],
        type=str.lower,
        help=f"log level (default {defaults.log_level}); info logs every request as JSON",
    )
    serve.add_argument(
        "--timeout-graceful-shutdown",
        type=int,
        default=5,
        metavar="SECONDS",
        help="on SIGTERM, how long open streams may finish before they are cut (default 5)",
    )
    serve.add_argument("--reload", action="store_true", help="restart on code changes")
    serve.set_defaults(handler=_serve)

    run = commands.add_parser(
        "run", help="run one optimizer and print its trajectory (same engine as the API)"
    )
    run.add_argument("--surface", default="bowl", help="surface name (see `losslab surfaces`)")
    run.add_argument("--optimizer", default="SGD", help="torch.optim class name")
    run.add_argument("--lr", type=float, help="learning rate (default: torch's)")
    run.add_argument("--momentum", type=float, help="momentum, for optimizers that take it")
    run.add_argument(
        "--hp",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other hyperparameter, value in JSON (e.g. --hp betas=[0.9,0.99])",
    )
    run.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"), help="start point")
    run.add_argument("--steps", type=int, default=100, help="optimizer steps (default 100)")
    run.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    run.add_argument("--format", default="csv", choices=["csv", "json"])
    run.set_defaults(handler=_run)

    _benchmark_parser(commands)
    commands.add_parser("surfaces", help="list the surfaces").set_defaults(handler=_surfaces)
    commands.add_parser(
        "settings", help="list every LOSSLAB_ setting, its value here and what it bounds"
    ).set_defaults(handler=_settings)
    commands.add_parser(
        "optimizers", help="list the optimizers and their torch defaults"
    ).set_defaults(handler=_optimizers)
    return top


def _benchmark_parser(commands: Any) -> None:
    from .benchmark import Request

    default = Request()
    bench = commands.add_parser(
        "benchmark",
        help="tune every optimizer's lr with one budget on the same surfaces; print the table",
        description="Run a benchmark in this process (the engine of POST /api/benchmarks) and "
        "print its table. Without --optimizer and --surface: the default benchmark.",
    )
    bench.add_argument(
        "--optimizer",
        action="append",
        default=[],
        metavar="'NAME [JSON]'",
        help='an optimizer, with settings fixed for every cell: --optimizer \'SGD {"momentum": '
        "0.9}'; repeat it for more",
    )
    bench.add_argument("--surface", action="append", default=[], help="a surface; repeat it")
    numbers: list[tuple[str, type, float, str]] = [
        ("--steps", int, default.steps, "steps of each run"),
        ("--starts", int, default.starts, "starts per surface"),
        ("--lr-min", float, default.lr.min, "lowest lr"),
        ("--lr-max", float, default.lr.max, "highest lr"),
        ("--lr-n", int, default.lr.n, "lr values, log-spaced"),
        ("--seed", int, default.seed, "seed of the starts"),
        ("--tolerance", float, default.tolerance, "success: loss ≤ f* + this"),
        (
            "--escape-margin",
            float,
            default.escape_margin,
            "surfaces without a minimum: success is loss ≤ the saddle's − this",
        ),
    ]
    for flag, kind, value, text in numbers:
        bench.add_argument(flag, type=kind, default=value, help=f"{text} (default {value:g})")
    bench.add_argument("--dtype", default=default.dtype, choices=["float32", "float64"])
    bench.add_argument("--format", default="markdown", choices=["markdown", "csv", "json"])
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    bench.set_defaults(handler=_benchmark)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except InvalidInput as error:
        print(f"losslab: {'.'.join(map(str, error.loc))}: {error.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`losslab run ... | head`): stop quietly, as Unix tools do.
        # Python would flush stdout again at exit and fail: point it at devnull first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the pipe


if __name__ == "__main__":
    sys.exit(main())
