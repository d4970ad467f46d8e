"""losslab from Python: the API's clients, over HTTP or in this process, and their results.

import losslab
run = losslab.run(surface="rosenbrock", optimizer="Adam", lr=0.05, steps=500)
run.figure()                      # a plotly Figure: the path on the landscape

with losslab.Client("http://127.0.0.1:8000") as client:
    same = client.run(surface="rosenbrock", optimizer="Adam", lr=0.05, steps=500)
"""

from .clients import AsyncClient, Client, Local
from .errors import APIError, ConnectionLost, FieldError, LosslabError
from .live import AsyncLiveSession, LiveMessage, LiveSession
from .requests import run_request, sweep_request
from .results import BasinMap, Benchmark, HyperparameterMap, Run, Runs, Sweep
from .streams import AsyncRunStream, RunStream

__all__ = [
    "APIError",
    "AsyncClient",
    "AsyncLiveSession",
    "AsyncRunStream",
    "BasinMap",
    "Benchmark",
    "Client",
    "ConnectionLost",
    "FieldError",
    "HyperparameterMap",
    "LiveMessage",
    "LiveSession",
    "Local",
    "LosslabError",
    "Run",
    "RunStream",
    "Runs",
    "Sweep",
    "run_request",
    "sweep_request",
]
