"""Settings: every limit a request can run into lives here, and only here (env prefix LOSSLAB_).

The computing modules (engine, maps, sweeps, network) take a `Settings` as their `limits`
(defaulting to the environment's), so a limit is written once; the routes pass the app's.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # The docstring under each field is its description: `losslab settings` prints them.
    model_config = SettingsConfigDict(env_prefix="LOSSLAB_", use_attribute_docstrings=True)

    host: str = "127.0.0.1"
    """The default of `losslab serve --host`."""
    port: int = 8000
    """The default of `losslab serve --port`."""

    max_steps: int = 10_000
    """The most optimizer steps one run may ask for."""
    max_grid_resolution: int = 400
    """The most points per axis of a surface grid."""
    max_body_bytes: int = 1_048_576
    """Request bodies above this size get 413."""
    stream_batch_frames: int = 500
    """The most frames in one streamed message."""
    max_ensemble_steps: int = 100_000
    """members × steps of one ensemble request."""
    max_ws_message_bytes: int = 65_536
    """WebSocket messages above this size get an error reply."""
    max_map_resolution: int = 256
    """Basin maps: the most start points per axis."""
    max_map_axis: int = 128
    """Hyperparameter maps: the most values per axis."""
    max_map_cell_steps: int = 256 * 256 * 500
    """cells × steps of one map request."""
    max_blocking_map_seconds: float = 5.0
    """Maps estimated to take longer are answered only by their /stream variant (progress);
    sweeps estimated to take longer are refused."""
    max_plane_map_cells: int = 4096
    """Maps on a network's plane: the most cells (each holds activations over the data set)."""
    max_map_fallback_cell_steps: int = 100_000
    """Hyperparameter maps of optimizers without a per-cell rule: one param group per cell."""
    max_sweep_values: int = 128
    """Sweeps: the most values of their one axis."""
    max_sweep_cell_steps: int = 400_000
    """Sweeps: values × steps (every frame of every row is kept and answered)."""
    max_benchmark_optimizers: int = 24
    """Benchmarks: the most optimizers."""
    max_benchmark_surfaces: int = 8
    """Benchmarks: the most surfaces."""
    max_benchmark_lrs: int = 32
    """Benchmarks: the most values of the lr grid."""
    max_benchmark_starts: int = 64
    """Benchmarks: the most random starts per surface."""
    max_benchmark_steps: int = 2_000
    """Benchmarks: the most steps of each run."""
    max_benchmark_cell_steps: int = 20_000_000
    """Benchmarks: optimizers × surfaces × lrs × starts × (steps + 1) of one request."""
    max_benchmark_fallback_cell_steps: int = 300_000
    """Benchmarks: the cell steps of optimizers without a batched rule (a parameter group per
    cell, or the engine's single runs one by one), over the whole request."""
    max_network_steps: int = 5_000
    """Training the whole MLP: the most steps."""
    max_network_resolution: int = 200
    """Training the whole MLP: the most grid points per axis of its PCA plane."""
    max_plane_resolution: int = 150
    """Grids of a network's loss plane: the most points per axis (each point is a forward
    pass over the data set)."""
    max_jobs: int = 2
    """CPU-heavy jobs (maps, ensembles, model landscapes, training) at once across the server;
    more get 429."""
    max_jobs_per_client: int = 1
    """CPU-heavy jobs at once from one client (IP address); more get 429."""
    job_seconds: float = 60.0
    """Wall-clock limit of one CPU-heavy job."""
    max_runs: int = 2
    """Runs computing at once across the server (one CPU slice each); the rest wait their turn
    in the fair run queue."""
    max_runs_per_client: int = 16
    """Runs in progress (computing or waiting) from one client (IP address); more get 429."""
    max_waiting_runs: int = 256
    """Runs waiting for a slice across the server; more get 429."""
    queue_seconds: float = 10.0
    """The longest a run waits for one slice before it is given up with 503."""
    run_seconds: float = 30.0
    """CPU-time limit of one run, streamed or not, its analysis included (503)."""
    request_seconds: float = 10.0
    """A request's headers and body must arrive within this time, or the connection is closed."""
    max_ws_pending_bytes: int = 1_048_576
    """A WebSocket whose unsent output (pongs included) exceeds this is closed: a client that
    does not read cannot grow the server's memory."""
    torch_threads: int = 1
    """torch intra-op threads per process: requests run side by side, one core each."""
    cors_origins: list[str] = []
    """Origins allowed to call the API from a browser; none by default."""
    log_level: str = "info"
    """Logging level; also `losslab serve --log-level`. `info` logs one line per request."""


@lru_cache
def get_settings() -> Settings:
    return Settings()
