"""Dependencies the routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from ...config import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]
"""The app's settings (tests and `create_app(settings)` override `get_settings`)."""
