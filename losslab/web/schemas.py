"""Pydantic models of the HTTP contract (docs/API.md), and nothing else."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .. import benchmark
from ..engine import Status

FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Point = Annotated[list[FiniteFloat], Field(min_length=2, max_length=2)]


class Domain(BaseModel):
    x: tuple[float, float]
    y: tuple[float, float]


class MinimumOut(BaseModel):
    x: float
    y: float
    loss: float
    kind: Literal["global", "local"]


class SaddleOut(BaseModel):
    x: float
    y: float
    loss: float


class SurfaceOut(BaseModel):
    name: str
    title: str
    description: str
    formula: str
    domain: Domain
    default_start: tuple[float, float]
    minima: list[MinimumOut]
    saddles: list[SaddleOut]
    sharpness: float | None = Field(
        None,
        description="the largest Hessian eigenvalue λ at the default start and the global "
        "minima: gradient descent is stable there while lr·λ < 2 (2(1+β) with momentum β)",
    )
    suggested_lr: float | None = Field(
        None, description="a gradient-descent learning rate well inside that bound: 1/λ"
    )
    parameters: Literal[1, 2] = Field(
        2,
        description="how many parameters a run steps: 2, the point (x, y); 1 for y = w·x "
        "(a model with `bias` off): start is [w], frames keep y at 0, the landscape is a curve",
    )


class Grid(BaseModel):
    x: list[float]
    y: list[float]
    z: list[list[float | None]] = Field(
        description="z[i][j] = f(x[j], y[i]); null where the surface is not finite"
    )


class HyperparameterOut(BaseModel):
    name: str = Field(description="the keyword argument of the torch.optim class")
    type: Literal["float", "int", "bool", "pair", "choice", "int_list"]
    default: Any = Field(description="torch's own default")
    description: str
    min: float | None = Field(None, description="smallest accepted value (inclusive)")
    max: float | None = Field(None, description="largest accepted value (inclusive)")
    log: bool = Field(description="a scale parameter: its slider is logarithmic")
    slider_min: float | None = Field(None, description="lower end of the slider's span")
    slider_max: float | None = Field(None, description="upper end of the slider's span")
    nullable: bool = Field(description="null is accepted and means torch's own choice")
    choices: list[Any] | None = None


class SchedulerOut(BaseModel):
    name: str
    title: str
    description: str
    hyperparameters: list[HyperparameterOut]
    needs_loss: bool = Field(description="step() takes the loss (ReduceLROnPlateau)")
    supports_warmup: bool


class ReferenceOut(BaseModel):
    title: str
    url: str


class SupportsOut(BaseModel):
    """Which batched tools run this optimizer; the others answer 422 with the reason."""

    basin_map: bool
    hyperparameter_map: bool = Field(
        description="by a per-cell rule, or one parameter group per cell where the class "
        "steps its groups independently"
    )
    start_sweep: bool
    hyperparameter_sweep: bool
    network: bool = Field(description="POST /api/models/mlp/train")
    param_groups: bool = Field(
        description="RunRequest.param_groups: a plain first-order optimizer over its parameters"
    )


class OptimizerOut(BaseModel):
    name: str = Field(
        description="the class's name; a torch.optim name always means torch's class, so "
        "pytorch_optimizer's ASGD, Muon and RAdam are `pytorch_optimizer.<name>`"
    )
    title: str
    description: str = Field(description="the docstring's first paragraph (or why excluded)")
    source: Literal["torch.optim", "pytorch_optimizer"]
    family: Literal["first_order", "closure", "hessian", "sharpness", "wrapper", "schedule_free"]
    family_step: str = Field(description="how this family is stepped, in one line")
    reference: ReferenceOut | None = Field(
        None, description="the paper, from the docstring (torch) or the package's README table"
    )
    hyperparameters: list[HyperparameterOut] = Field(
        description="from the signature; a wrapper's start with `base_optimizer` (a registry "
        "name) and take its base's settings too, flat"
    )
    fixed: list[str] = Field(
        description="signature arguments left at the library's default: framework switches "
        "and values with no JSON form (callables, dtypes)"
    )
    needs_closure: bool = Field(
        description="step() takes a closure (LBFGS, AliG, the SAM family): one frame per step"
    )
    param_shape: list[int] = Field(description="the shape the point is given to torch in")
    supports: SupportsOut
    excluded: str | None = Field(
        None, description="why this class cannot step a 2-D point here (then it cannot run)"
    )


class DomainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: Point = Field(description="[lo, hi]")
    y: Point = Field(description="[lo, hi]")


class CustomSurface(BaseModel):
    model_config = ConfigDict(extra="forbid")

    formula: str = Field(
        description="an expression in x and y: numbers, + - * / **, parentheses, pi, e and "
        "sin cos tan exp log sqrt abs tanh sigmoid relu softplus min max (at most 500 chars)"
    )
    domain: DomainIn | None = Field(None, description="default x and y in [-3, 3]")


class DatasetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: list[FiniteFloat] = Field(max_length=10_000)
    y: list[FiniteFloat] = Field(max_length=10_000)


class ModelSurfaceIn(BaseModel):
    """A real model's loss over its two parameters: (w, b), or (a, b) on a network's plane."""

    model_config = ConfigDict(extra="forbid")

    model: Literal["linear_regression", "logistic_regression", "mlp_plane"]
    dataset: str | DatasetIn | None = Field(
        None,
        description="linear_regression: tiny, noisy_line (default) or {x, y}; "
        "logistic_regression: two_classes (default), separable or {x, y} with y in {0, 1}; "
        "mlp_plane: moons (default) or spirals",
    )
    batch_size: Annotated[int, Field(strict=True, ge=1)] | None = Field(
        None, description="null: full batch; 1: stochastic; otherwise mini-batches"
    )
    seed: Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)] = Field(
        0, description="data generation and the DataLoader's shuffling"
    )
    bias: Annotated[bool, Field(strict=True)] = Field(
        True,
        description="linear_regression: false fits y = w·x with one parameter, w "
        "(nn.Linear(1, 1, bias=False)); start is then [w] and frames carry x = w, y = 0",
    )
    shuffle: Annotated[bool, Field(strict=True)] = Field(
        True,
        description="mini-batches: shuffled every epoch by the seeded DataLoader (true), or in "
        "data order (false, DataLoader(shuffle=False))",
    )
    loss: Literal["cross_entropy", "mse"] | None = Field(
        None,
        description="null: the model's own. linear_regression: mse; logistic_regression: "
        "cross_entropy (nn.BCEWithLogitsLoss) or mse on the sigmoid's output "
        "(nn.MSELoss()(torch.sigmoid(out), y), whose gradient vanishes where the sigmoid "
        "saturates); mlp_plane: cross_entropy",
    )
    directions: Literal["random", "pca"] = Field(
        "random", description="mlp_plane: filter-normalized random directions, or PCA of training"
    )


class WarmupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: Annotated[int, Field(strict=True, ge=1)]
    start_factor: Annotated[FiniteFloat, Field(gt=0, le=1)] = 0.1


class SchedulerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="a torch.optim.lr_scheduler class from GET /api/schedulers")
    params: dict[str, Any] = Field(default_factory=dict)
    warmup: WarmupIn | None = Field(
        None, description="linear warmup first: SequentialLR([LinearLR, this], [steps])"
    )


class ClipIn(BaseModel):
    """Either {max_norm, norm_type} (clip_grad_norm_) or {max_value} (clip_grad_value_)."""

    model_config = ConfigDict(extra="forbid")

    max_norm: Annotated[FiniteFloat, Field(gt=0)] | None = None
    norm_type: Annotated[FiniteFloat, Field(ge=0.1, le=100)] | Literal["inf"] = 2.0
    max_value: Annotated[FiniteFloat, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def one_kind(self) -> ClipIn:
        if (self.max_norm is None) == (self.max_value is None):
            raise ValueError("give exactly one of max_norm and max_value")
        return self


class NoiseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    std: Annotated[FiniteFloat, Field(ge=0, le=1000)] = Field(
        description="standard deviation of the Gaussian noise added to each gradient"
    )
    seed: Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)] = 0


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    surface: str | CustomSurface | ModelSurfaceIn = Field(
        description="a surface name from GET /api/surfaces, {formula, domain}, or a model"
    )
    optimizer: str = Field(description="a torch.optim class name from GET /api/optimizers")
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments of the optimizer; omitted: torch's"
    )
    start: Annotated[list[FiniteFloat], Field(min_length=1, max_length=2)] | None = Field(
        None, description="[x, y] ([w] for a one-parameter model); omitted: the surface's default"
    )
    steps: Annotated[int, Field(strict=True, ge=1)] = Field(
        100, description="optimizer steps, at most the server's max_steps (10,000 by default)"
    )
    dtype: Literal["float32", "float64"] = "float32"
    scheduler: SchedulerIn | None = None
    clip: ClipIn | None = Field(None, description="applied between backward() and step()")
    noise: NoiseIn | None = Field(None, description="added to the gradient before clipping")
    param_groups: Annotated[list[dict[str, Any]], Field(min_length=2, max_length=2)] | None = Field(
        None,
        description="x and y as two parameter groups, each overriding `hyperparameters` "
        'for its coordinate: [{"lr": 0.1}, {"lr": 0.01}] is SGD([{"params": [x], "lr": '
        '0.1}, {"params": [y], "lr": 0.01}], ...)',
    )


class EnsembleRequest(RunRequest):
    members: Annotated[int, Field(strict=True, ge=2, le=50)] = Field(
        20, description="noisy runs, with noise seeds seed, seed + 1, ..."
    )


class EnsembleMember(BaseModel):
    seed: int
    status: Status
    x: list[float]
    y: list[float]
    final_loss: float


class Ensemble(BaseModel):
    runs: list[EnsembleMember]


class ModelData(BaseModel):
    """A regression model's data set, for drawing it with the model of the current frame."""

    model: Literal["linear_regression", "logistic_regression"]
    x: list[float]
    y: list[float] = Field(description="targets (linear) or labels 0/1 (logistic)")


class CustomSurfaceOut(BaseModel):
    surface: SurfaceOut
    grid: Grid
    note: str = Field("", description="what to know about this surface (e.g. no finite minimum)")
    data: ModelData | None = Field(
        None,
        description="regression models: the data set; the frame's (x, y) is (w, b), the "
        "line y = w·x + b (linear) or the boundary x = -b/w (logistic)",
    )
    samples: int | None = Field(
        None, description="model surfaces: the number of samples in the data set"
    )


class Dataset(BaseModel):
    x: list[float]
    y: list[float]


class NetworkTrainRequest(BaseModel):
    """Train the whole 2-16-16-2 MLP and show its path on the PCA plane of that path."""

    model_config = ConfigDict(extra="forbid")

    dataset: Literal["moons", "spirals"] = "moons"
    seed: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)] = 0
    init_seed: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)] | None = None
    optimizer: str = "Adam"
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    steps: Annotated[int, Field(strict=True, ge=1)] = Field(300, description="at most 5000")
    batch_size: Annotated[int, Field(strict=True, ge=1)] | None = None
    resolution: Annotated[int, Field(strict=True, ge=2)] = Field(60, description="at most 200")


class NetworkTrainingOut(BaseModel):
    x: list[float]
    y: list[float]
    z: list[list[float | None]] = Field(description="z[i][j] = L(a=x[j], b=y[i])")
    path_a: list[float]
    path_b: list[float]
    losses: list[float]
    accuracy: list[float]
    explained_variance: list[float]
    status: Status
    steps_taken: int


class AxisIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description='a numeric hyperparameter; "betas.0" names a pair element')
    min: FiniteFloat
    max: FiniteFloat
    n: Annotated[int, Field(strict=True, ge=2)] = Field(32, description="values (at most 128)")
    log: bool = False


class AxesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: AxisIn
    y: AxisIn


class BasinMapRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    surface: str | CustomSurface | ModelSurfaceIn
    optimizer: str
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    steps: Annotated[int, Field(strict=True, ge=1)] = 200
    resolution: Annotated[int, Field(strict=True, ge=2)] = Field(
        64, description="start points per axis (at most 256)"
    )
    dtype: Literal["float32", "float64"] = "float32"


class HyperparameterMapRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    surface: str | CustomSurface | ModelSurfaceIn
    optimizer: str
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    start: Point | None = None
    steps: Annotated[int, Field(strict=True, ge=1)] = 200
    axes: AxesIn | None = Field(None, description="default: lr (log) × momentum, or the next")
    dtype: Literal["float32", "float64"] = "float32"


class MapOut(BaseModel):
    """Per-cell results: row i is y[i], column j is x[j]."""

    x: list[float]
    y: list[float]
    outcome: list[list[int]] = Field(description="index into minima, -1 diverged, -2 undecided")
    final_loss: list[list[float | None]]
    steps_to_converge: list[list[int | None]]
    final_x: list[list[float | None]]
    final_y: list[list[float | None]]
    minima: list[MinimumOut]
    axes: AxesIn | None = None
    stability_boundary: list[tuple[float, float]] | None = None


class SweepRequest(RunRequest):
    axis: AxisIn = Field(
        description='the setting to sweep: a numeric hyperparameter ("lr", "betas.0") or '
        '"start_x" / "start_y"; n values from min to max (at most 128, n × steps ≤ 400,000)'
    )


class SweepOut(BaseModel):
    """Row i is the run with values[i]: its frames' x, y, loss and gradient norm."""

    axis: AxisIn
    values: list[float]
    dtype: Literal["float32", "float64"]
    status: list[Status]
    steps_taken: list[int] = Field(description="row i has frames 0 … steps_taken[i]")
    final_loss: list[float | None]
    x: list[list[float]]
    y: list[list[float]]
    loss: list[list[float]]
    grad_norm: list[list[float]]


class FrameOut(BaseModel):
    step: int
    x: float
    y: float
    loss: float
    grad: list[float]
    lr: float | None = Field(description="null where the optimizer has no learning rate (AliG)")
    state: dict[str, float | list[float]]
    ascent: list[float] | None = Field(
        None,
        description="sharpness-aware runs: the ascent point where the step leaving this frame "
        "took its second gradient",
    )
    train_point: list[float] | None = Field(
        None,
        description="Schedule-Free runs: the training point where step() takes its gradient; "
        "x, y are the evaluation point (optimizer.eval())",
    )
    train_loss: float | None = Field(None, description="Schedule-Free: the loss at train_point")
    true_grad: list[float] | None = Field(
        None,
        description="with noise or clipping: the loss's own gradient; with mini-batches: the "
        "full-data gradient. grad is always what step() saw",
    )
    batch_loss: float | None = Field(None, description="models: the loss of this step's batch")
    epoch: int | None = Field(None, description="models: the pass over the data")


class Summary(BaseModel):
    final_loss: float
    steps_taken: int
    final_x: float
    final_y: float
    final_grad_norm: float
    best_loss: float
    reason: str = Field(description="why the run ended, in words")


class Event(BaseModel):
    type: Literal["overshoot", "oscillation", "escape", "saddle_stall", "divergence"]
    step: int
    detail: str = Field(description="a one-line plain explanation")


class Outcome(BaseModel):
    type: Literal["minimum", "diverged", "stationary", "moving"]
    minimum: int | None = Field(description="index into the surface's minima, if any")
    detail: str


class Curvature(BaseModel):
    steps: list[int] = Field(
        description="the frame step of each value: every frame, or on model surfaces (where a "
        "Hessian is a pass over the data) at most 1001 evenly spaced frames, first and last "
        "included"
    )
    sharpness: list[float] = Field(description="largest Hessian eigenvalue at each of `steps`")
    min_eigenvalue: list[float] = Field(
        description="smallest Hessian eigenvalue at each of `steps`"
    )


class Stability(BaseModel):
    threshold: float | None = Field(
        description="the sharpness above which the SGD family is unstable for these settings; "
        "null where no such bound holds (other optimizers, or ascent with maximize)"
    )
    rule: str | None
    condition: str | None = Field(None, description='the condition alone: "lr·λ < 2(1+β)"')
    formula: str | None = Field(
        None, description='the threshold in symbols, "2/lr" or "2(1+β)/lr"; null for ascent'
    )
    max_sharpness: float
    final_sharpness: float = Field(
        description="the largest Hessian eigenvalue at the run's last frame: how sharp the "
        "point it ended at is"
    )
    measured_contraction: float | None = Field(
        description="per-step contraction of the distance to the reached minimum, measured: "
        "the slope of a least-squares fit of log distance over the last half of the run"
    )
    predicted_contraction: float | None = Field(
        description="the same, predicted by the linear theory from the Hessian at the minimum"
    )


class Analysis(BaseModel):
    events: list[Event]
    outcome: Outcome
    curvature: Curvature
    stability: Stability


class Run(BaseModel):
    run_id: str
    status: Status
    frames: list[FrameOut]
    summary: Summary
    analysis: Analysis


class RunDone(BaseModel):
    """The last message of a stream: the Run without its frames."""

    run_id: str
    status: Status
    summary: Summary
    analysis: Analysis


class Preset(BaseModel):
    name: str
    title: str
    description: str
    phenomenon: Literal["overshoot", "oscillation", "escape", "saddle_stall", "divergence"]
    surface: str
    runs: list[RunRequest]


_DEFAULT = benchmark.Request()


class BenchmarkOptimizerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="a name GET /api/optimizers lists")
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict, description="settings fixed for every cell (never lr)"
    )
    label: Annotated[str, Field(min_length=1, max_length=60)] | None = Field(
        None, description="what its rows are called; default: the name and fixed settings"
    )


class LrGridIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: float = _DEFAULT.lr.min
    max: float = _DEFAULT.lr.max
    n: Annotated[int, Field(strict=True, ge=2)] = Field(
        _DEFAULT.lr.n, description="log-spaced values from min to max, ends included"
    )


class BenchmarkRequest(BaseModel):
    """Every field may be left out: the default benchmark (docs/API.md, "Benchmarks")."""

    model_config = ConfigDict(extra="forbid")

    optimizers: list[BenchmarkOptimizerIn] | None = Field(
        None,
        description="default: SGD, SGD momentum 0.9, Adagrad, RMSprop, Adam, AdamW, "
        "Lion, AdaBelief, Adan",
    )
    surfaces: list[str] | None = Field(
        None, description="built-in surface names; default: " + ", ".join(_DEFAULT.surfaces)
    )
    steps: Annotated[int, Field(strict=True, ge=1)] = _DEFAULT.steps
    lr: LrGridIn = Field(default_factory=LrGridIn)
    starts: Annotated[int, Field(strict=True, ge=1)] = Field(
        _DEFAULT.starts, description="seeded random starts per surface, the same for all"
    )
    seed: Annotated[int, Field(strict=True, ge=0)] = _DEFAULT.seed
    tolerance: Annotated[float, Field(ge=0)] = Field(
        _DEFAULT.tolerance, description="success: loss ≤ the global minimum's + tolerance"
    )
    escape_margin: Annotated[float, Field(ge=0)] = Field(
        _DEFAULT.escape_margin,
        description="surfaces without a minimum: success is loss ≤ the saddle's − margin",
    )
    dtype: Literal["float32", "float64"] = "float32"

    def to_request(self) -> benchmark.Request:
        optimizers = _DEFAULT.optimizers
        if self.optimizers is not None:
            optimizers = tuple(
                benchmark.Entry(o.name, o.hyperparameters, o.label or "") for o in self.optimizers
            )
        return benchmark.Request(
            optimizers=optimizers,
            surfaces=_DEFAULT.surfaces if self.surfaces is None else tuple(self.surfaces),
            steps=self.steps,
            lr=benchmark.LrGrid(self.lr.min, self.lr.max, self.lr.n),
            starts=self.starts,
            seed=self.seed,
            tolerance=self.tolerance,
            escape_margin=self.escape_margin,
            dtype=self.dtype,
        )


class BenchmarkRowOut(BaseModel):
    """One optimizer on one surface, at its tuned lr unless said otherwise."""

    optimizer: str = Field(description="the optimizer's label")
    surface: str
    tuned_lr: float
    tuned_at_edge: bool = Field(description="the tuned lr is an end of the grid (and succeeds)")
    success_rate: float
    successes: int
    runs: int
    interval: tuple[float, float] = Field(description="95% Wilson score interval")
    median_steps: float | None
    final_loss: dict[str, float] | None = Field(description="min, q1, median, q3, max")
    diverged: int
    sensitivity_decades: float | None
    curve: list[dict[str, float | None]] = Field(description="lr, success_rate, median_steps")
    steps_to_target: list[int | None] = Field(description="per start, in the surface's order")
    example_start: int = Field(description="the start of a representative run (its index)")
    rank: int = Field(description="on this surface")


class BenchmarkOut(BaseModel):
    protocol: dict[str, Any] = Field(description="lr grid, starts, steps, seed, rules, versions")
    surfaces: list[dict[str, Any]] = Field(description="name, target, starts, bounds")
    optimizers: list[dict[str, Any]] = Field(
        description="label, name, settings, path, state_bytes_per_parameter, step_seconds, rank"
    )
    rows: list[BenchmarkRowOut]
    ranking: list[dict[str, Any]] = Field(description="optimizer, mean_rank, successes, rank")
    seconds: float = Field(description="wall time of the run (measured)")
    exports: dict[str, str] = Field(description="the table as markdown and csv")


class ErrorOut(BaseModel):
    """Every error answer but 422: 404, 413, 429, 500, 503."""

    detail: str


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="the path to the offending field")
    msg: str
    type: str
    input: Any = None


class ValidationErrorOut(BaseModel):
    """422: FastAPI's validation-error shape, for pydantic's checks and the engine's alike."""

    detail: list[ValidationIssue]


class BusyOut(BaseModel):
    """429: a limit on concurrent work was hit."""

    detail: str
    limit: str = Field(
        description="the setting that refused it: max_jobs, max_jobs_per_client, "
        "max_runs_per_client or max_waiting_runs (env LOSSLAB_ + its name in capitals)"
    )


RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
BUSY: dict[int | str, dict[str, Any]] = {
    429: {
        "model": BusyOut,
        "description": "a limit on concurrent work was hit (`limit` names it)",
        "headers": RETRY_AFTER,
    }
}
"""`responses=` of a route whose work runs in the job pool or the run queue."""
TOO_LONG: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorOut,
        "description": "past the server's time limit, or waited too long for its turn",
        "headers": RETRY_AFTER,
    }
}
"""`responses=` of a route whose work has a time limit."""

SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["frames", "done", "error"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "frames: {run_id, frames: [Frame]}; done: the Run without frames "
            "(RunDone); error: {run_id, detail}",
        },
    },
}
"""One Server-Sent Event of POST /api/runs/stream, as Open API 3.1 tools read `schema`."""

MAP_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["progress", "done", "error"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "progress: {fraction}; done: the map (MapOut) or benchmark "
            "(BenchmarkOut); error: {detail}",
        },
    },
}
"""One Server-Sent Event of the maps' /stream endpoints."""
