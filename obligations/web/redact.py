"""Access logs without secrets: uvicorn's access log writes each request's path with its query string, and two
kinds of request carry a secret there — a reminder's link `/l/<token>` and WeCom's sign-in callback
`?code=…&state=…`. A filter on uvicorn's loggers rewrites them as `/l/***` and `code=***` before any handler
(uvicorn's own, gunicorn's, a file) sees the record. The desk redirects at once to clean URLs, so no later
request carries them."""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    (re.compile(r"/l/[^\s?#\"']+"), "/l/***"),
    (re.compile(r"(?i)%2Fl%2F[^\s&#\"']+"), "%2Fl%2F***"),  # the same path, URL-encoded in a query
    (re.compile(r"(?i)([?&](?:code|state)=)[^&#\s\"']*"), r"\1***"),
)
LOGGERS = ("uvicorn.access", "uvicorn.error", "gunicorn.access", "gunicorn.error")


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactLinks(logging.Filter):
    """Rewrites every string argument of a record (uvicorn's access record keeps its five arguments, which its
    formatter unpacks) and the message itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: redact(v) if isinstance(v, str) else v for key, v in record.args.items()}
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    """Idempotent: once per logger, however many apps a process creates."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactLinks) for existing in logger.filters):
            logger.addFilter(RedactLinks())
