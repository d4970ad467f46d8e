"""losslab: real torch.optim optimizers on 2-D loss landscapes, from the page or from Python.

In process, with no server (the same engine and the same results as the API):

    import losslab
    run = losslab.run(surface="rosenbrock", optimizer="Adam", lr=0.05, steps=500)
    run.summary.final_loss, run.analysis.events
    run.figure()                       # plotly: the path on the landscape, minima, events

`losslab.local` offers every operation (surfaces, optimizers, sweeps, maps, benchmarks,
Copy as PyTorch, ...); `losslab.Client(url)` and `losslab.AsyncClient(url)` offer the same
against a server (`losslab serve`), with a live session on its run socket.
"""

from .client import (
    APIError,
    AsyncClient,
    BasinMap,
    Benchmark,
    Client,
    ConnectionLost,
    HyperparameterMap,
    Local,
    LosslabError,
    Run,
    Runs,
    Sweep,
)

local = Local()
"""The in-process client; its limits are read from the LOSSLAB_ environment, as a server's."""
run = local.run
runs = local.runs
stream = local.stream
sweep = local.sweep
basin_map = local.basin_map
hyperparameter_map = local.hyperparameter_map

__all__ = [
    "APIError",
    "AsyncClient",
    "BasinMap",
    "Benchmark",
    "Client",
    "ConnectionLost",
    "HyperparameterMap",
    "Local",
    "LosslabError",
    "Run",
    "Runs",
    "Sweep",
    "basin_map",
    "hyperparameter_map",
    "local",
    "run",
    "runs",
    "stream",
    "sweep",
]
