"""Project middleware."""

from django.utils.translation import gettext as _
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


class BodySizeMiddleware:
    """A request body larger than the page can take is refused at the door (413, with why),
    before a byte of it is read: an upload cannot fill the disk with temporary files. The
    citizen's portal takes at most a message's attachments; the staff's pages a set of DICOM
    files."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        portal = request.path_info.startswith("/portal/")
        limit = (
            settings.SUNDHED_PORTAL_MAX_BODY_BYTES if portal else settings.SUNDHED_MAX_BODY_BYTES
        )
        if length > limit:
            return self._too_large(request, limit)
        return self.get_response(request)

    @staticmethod
    def _too_large(request, limit):
        text = _("What you sent is too large: at most %(mb)d MB at a time.") % {
            "mb": limit // 2**20
        }
        return _client_error(request, text, status=413)


class BadParameterMiddleware:
    """A query parameter a view cannot read is the client's mistake: 400 naming it, never 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from common.params import BadParameter

        # No text in the database may hold a NUL byte: refuse it at the door, for every view,
        # in the address, the query and a form (an HL7 body to the receiver is bytes: kept).
        no_nul = _("text without NUL bytes")
        if "\x00" in request.path_info:
            return self._bad(request, BadParameter("path", request.path_info, no_nul))
        forms = [request.GET]
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            forms.append(request.POST)
        for form in forms:
            for name, values in form.lists():
                for value in values:
                    if "\x00" in value or "\x00" in name:
                        return self._bad(request, BadParameter(name, value, no_nul))
        return self.get_response(request)

    def process_exception(self, request, exception):
        from common.params import BadParameter

        if not isinstance(exception, BadParameter):
            return None
        return self._bad(request, exception)

    @staticmethod
    def _bad(request, exception):
        return _client_error(request, str(exception), status=400, parameter=exception.name)


def _client_error(request, text, *, status: int, **extra):
    """A refusal at the door, before any view: JSON for the API and for a client that asks for
    it (`detail` and any `extra`), plain text otherwise."""
    from django.http import HttpResponse, JsonResponse

    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": str(text), **extra}, status=status)
    return HttpResponse(str(text), status=status, content_type="text/plain; charset=utf-8")


class CitizenBoundaryMiddleware:
    """A citizen's session (signed in with MitID for the portal) reaches only the portal and
    what every page needs (sign-out, language, static files, health); anything else, staff
    pages, admin and the API included, sends it back to the portal."""

    # The iCal address is the citizen's own (by its private token), as a calendar program reads it.
    allowed = (
        "/portal/", "/accounts/logout/", "/i18n/", "/static/", "/healthz", "/readyz",
        "/booking/ical/",
    )  # fmt: skip

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from portal.signin import SESSION_KEY

        if request.session.get(SESSION_KEY) and not request.path.startswith(self.allowed):
            from django.shortcuts import redirect

            return redirect("portal:overview")
        return self.get_response(request)
