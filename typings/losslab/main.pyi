from app.main import *  # noqa: F403
