"""Django admin behind the same sign-in as everything else: allauth with the second factor.

The stock admin login takes a password alone; here it sends the user to allauth's sign-in, and
every admin page first asks the second-factor check that the access gate asks. The autocomplete
of patient fields writes the access events that its answers disclose.
"""

from functools import wraps

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Third-party apps name their admin sections in English (or not at all in Danish), and allauth's
# "account" app would be a second "Konti" beside ours: the admin names them in the project's
# words. Keys are app labels and (app label, model name).
ADMIN_APP_NAMES = {
    "audit": gettext_lazy("Audit log"),
    "axes": gettext_lazy("Sign-in lockout"),
    "account": gettext_lazy("Sign-in: e-mail addresses"),
    "mfa": gettext_lazy("Two-factor authentication"),
    "pghistory": gettext_lazy("Change history"),
    "socialaccount": gettext_lazy("Sign-in: MitID accounts of citizens"),
    "portal": gettext_lazy("Min Sundhedsplatform"),
}
ADMIN_MODEL_NAMES = {
    ("axes", "AccessAttempt"): gettext_lazy("Failed sign-in attempts"),
    ("axes", "AccessFailureLog"): gettext_lazy("Failed sign-ins"),
    ("axes", "AccessLog"): gettext_lazy("Sign-ins"),
    ("account", "EmailAddress"): gettext_lazy("E-mail addresses"),
    ("mfa", "Authenticator"): gettext_lazy("Second factors"),
    ("pghistory", "Events"): gettext_lazy("Changes"),
}


class AuditedAutocompleteJsonView(AutocompleteJsonView):
    """The admin's search-as-you-type; a model admin with `audit_listed` logs what it shows."""

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        audit_listed = getattr(self.model_admin, "audit_listed", None)
        if audit_listed is not None:
            audit_listed(self.request, list(context["object_list"]))
        return context


class SundhedAdminSite(AdminSite):
    """The project's admin site: allauth sign-in, the second factor, audited autocomplete."""

    site_header = "Sundhed"
    site_title = "Sundhed"

    def login(self, request, extra_context=None):
        target = request.GET.get("next") or reverse("admin:index")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = reverse("admin:index")
        if request.user.is_authenticated:
            if not self.has_permission(request):
                # Signed in, but not admin staff: allauth would only send them back here.
                raise PermissionDenied(_("Your account has no access to administration."))
            return redirect(target)
        return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")

    def admin_view(self, view, cacheable=False):
        # Imported here: this module is loaded while the apps are still being set up.
        from patients.access import no_store, options_response, second_factor_redirect

        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def wrapped(request, *args, **kwargs):
            if request.method == "OPTIONS":
                return options_response()
            if request.user.is_authenticated and (detour := second_factor_redirect(request)):
                return detour
            return no_store(inner(request, *args, **kwargs))

        return wrapped

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        for app in apps:
            label = app["app_label"]
            if label in ADMIN_APP_NAMES:
                app["name"] = str(ADMIN_APP_NAMES[label])
            for model in app["models"]:
                name = ADMIN_MODEL_NAMES.get((label, model["object_name"]))
                if name is not None:
                    model["name"] = str(name)
        apps.sort(key=lambda app: app["name"].lower())
        return apps

    def autocomplete_view(self, request):
        return AuditedAutocompleteJsonView.as_view(admin_site=self)(request)

    def get_urls(self):
        from django.urls import path

        queues = path("outbox/", self.admin_view(self.outbox_queues), name="outbox_queues")
        return [queues, *super().get_urls()]

    def outbox_queues(self, request):
        """Every kind of durable work: its rows by status and the oldest one waiting (counts
        only: no patient is shown, so nothing is disclosed)."""
        from django.template.response import TemplateResponse

        from outbox.engine import queue_summary

        context = {**self.each_context(request), "title": _("Durable work"),
                   "queues": queue_summary()}  # fmt: skip
        return TemplateResponse(request, "admin/outbox_queues.html", context)


class SundhedAdminConfig(AdminConfig):
    """Installs `SundhedAdminSite` as `admin.site`."""

    default_site = "sundhed.admin_site.SundhedAdminSite"
