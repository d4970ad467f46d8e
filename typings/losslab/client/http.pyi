from app.client.http import *  # noqa: F403
