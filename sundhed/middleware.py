"""Project middleware."""

from pghistory.middleware import HistoryMiddleware

from common.context import new_request_id, request_id_var


class RequestIdMiddleware:
    """Give every request an id (or keep a sane one from the load balancer) for logs and audit."""

    header = "HTTP_X_REQUEST_ID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get(self.header, "")
        request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else new_request_id()
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class HistoryContextMiddleware(HistoryMiddleware):
    """pghistory's context (user, url) plus the request id, so history rows match audit events."""

    def get_context(self, request):
        context = super().get_context(request)
        context["request_id"] = getattr(request, "request_id", "")
        return context
