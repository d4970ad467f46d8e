from app.web import *  # noqa: F403
