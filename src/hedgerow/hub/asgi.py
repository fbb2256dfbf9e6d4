"""ASGI entry point for servers that import an app factory (``uvicorn --factory``).

Settings come from ``HEDGEROW_HUB_*`` environment variables (see :class:`HubSettings`).

Example:
    $ HEDGEROW_HUB_DATABASE_URL=postgresql://hub@/hub uvicorn --factory hedgerow.hub.asgi:app
"""

from __future__ import annotations

from fastapi import FastAPI

from hedgerow.hub.app import create_app
from hedgerow.hub.config import HubSettings


def app() -> FastAPI:
    return create_app(HubSettings.from_env())
