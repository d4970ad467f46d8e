# For mypy only. The editable install maps the package `losslab` to the folder app/
# (pyproject.toml, [tool.setuptools]) with an import hook that mypy cannot follow, so mypy
# reads `losslab` here (mypy_path = "typings"): each stub re-exports its module of app/, so
# `losslab.X` and `app.X` are the same classes to mypy, checked once. A module imported as
# `losslab.<name>` elsewhere needs its one-line stub here.
from app import *  # noqa: F403
