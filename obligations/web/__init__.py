"""The secretary's desk: a server-rendered web front end (Starlette, Jinja2, htmx) over the same core as the
command line. `create_app` builds it; `obligations serve` runs it under uvicorn."""

from obligations.web.app import Desk, create_app

__all__ = ["Desk", "create_app"]
