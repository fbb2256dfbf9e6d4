"""ASGI entry point for servers that import an app factory (``uvicorn --factory``).

Settings come from ``HEDGEROW_HUB_*`` environment variables (see :class:`HubSettings`).

Example:
    $ HEDGEROW_HUB_DATABASE_URL=postgresql://hub@/hub uvicorn --factory hedgerow.hub.asgi:app
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

from hedgerow.hub.app import create_app
from hedgerow.hub.config import HubSettings

# Young-generation collections every 50,000 net allocations instead of 700: a 100-event batch
# allocates tens of thousands of short-lived objects, and each collection pauses every request.
GC_THRESHOLD = (50_000, 20, 100)


def app() -> FastAPI:
    """Build the served app, then move everything loaded so far (framework, models, routes)
    out of the collector's reach (``gc.freeze``), so full collections only walk what requests
    allocate."""
    application = create_app(HubSettings.from_env())
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    return application
