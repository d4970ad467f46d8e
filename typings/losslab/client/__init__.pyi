from app.client import *  # noqa: F403
