"""The request context (request id) that logs, audit events and history rows share."""

import contextvars
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def new_request_id() -> str:
    """A short random id; it ties one request's log lines, audit events and history together."""
    return uuid.uuid4().hex[:16]


def current_request_id() -> str:
    """The id of the request or task being served, or '-' outside one."""
    return request_id_var.get()
