"""Settings: every limit a request can run into lives here (env prefix LOSSLAB_)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import Depends
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOSSLAB_")

    host: str = "127.0.0.1"
    port: int = 8000

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


@lru_cache
def get_settings() -> Settings:
    return Settings()


SettingsDep = Annotated[Settings, Depends(get_settings)]
