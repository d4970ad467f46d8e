from app.web.schemas import *  # noqa: F403
