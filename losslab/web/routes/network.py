"""Training the whole MLP: a job in the pool; its path on the PCA plane of its own run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ...landscapes import network
from .. import operations
from ..jobs import Job, JobPool, JobTimeout
from ..schemas import BUSY, TOO_LONG, NetworkTrainingOut, NetworkTrainRequest
from .clients import client_id
from .deps import SettingsDep

router = APIRouter(prefix="/api/models", tags=["models"])


@router.post("/mlp/train", response_model=NetworkTrainingOut, responses=BUSY | TOO_LONG)
async def train_mlp(body: NetworkTrainRequest, request: Request, settings: SettingsDep) -> Response:
    """Train all weights of the MLP with any optimizer; the path on its own PCA plane."""
    pool: JobPool = request.app.state.jobs
    compute = operations.train_network(body, settings)  # an unknown optimizer: 422 at once

    def job_body(job: Job) -> Any:
        try:
            return compute(job.should_stop)
        except network.TrainingStopped:
            raise JobTimeout(pool.seconds) from None

    return JSONResponse(await pool.run(job_body, client_id(request)))
