"""Citizens sign in with MitID through an OpenID Connect broker (allauth's OpenID Connect
provider, the app "mitid").

- The account is keyed on the broker's subject (`sub`), as allauth keys every social account.
- The level of assurance must be at least "substantial" (NSIS); a lower one gets a clear page.
- The CPR number in the claims finds the citizen's record at the first sign-in and links the
  account to it; it is never stored in allauth's extra data (scrubbed before every save).
- A staff member's account never becomes a citizen's, and a citizen's session is marked, so the
  boundary middleware keeps it inside the portal.
"""

from __future__ import annotations

import logging
from typing import NoReturn

from allauth.account.signals import user_logged_in
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.db import IntegrityError, transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from organisation.models import StaffMember
from patients.models import Patient

log = logging.getLogger(__name__)

PROVIDER_ID = "mitid"
CPR_CLAIM = "https://data.gov.dk/model/core/eid/cprNumber"
LOA_CLAIM = "https://data.gov.dk/concept/core/nsis/loa"
# NSIS levels of assurance, lowest first; the portal needs at least "Substantial".
LEVELS = ["Low", "Substantial", "High"]
REQUIRED_LEVEL = "Substantial"
# The session key that marks a citizen's session (the patient's id), and the one that holds the
# patient a citizen acts for as a proxy.
SESSION_KEY = "portal_patient"
ACTING_KEY = "portal_acting_for"
# Claims never kept in allauth's extra data.
SECRET_CLAIMS = (CPR_CLAIM, "cpr", "dk:gov:saml:attribute:CprNumberIdentifier")


def _claims(extra_data: dict) -> dict:
    """The ID token's and userinfo's claims together (userinfo wins)."""
    return {**(extra_data.get("id_token") or {}), **(extra_data.get("userinfo") or {})}


def scrubbed(extra_data: dict) -> dict:
    """The extra data without the CPR number (a copy; the caller's dict is left alone)."""
    clean = {}
    for key, value in (extra_data or {}).items():
        if isinstance(value, dict):
            clean[key] = {k: v for k, v in value.items() if k not in SECRET_CLAIMS}
        elif key not in SECRET_CLAIMS:
            clean[key] = value
    return clean


def level_sufficient(level: str) -> bool:
    short = (level or "").rsplit("/", 1)[-1]
    return short in LEVELS and LEVELS.index(short) >= LEVELS.index(REQUIRED_LEVEL)


def _refuse(request, reason: str, status: int = 403) -> NoReturn:
    raise ImmediateHttpResponse(
        render(request, "portal/signin_refused.html", {"reason": reason}, status=status)
    )


class CitizenAccountAdapter(DefaultSocialAccountAdapter):
    """MitID sign-in: assurance checked, the record found by CPR, staff kept out."""

    def pre_social_login(self, request, sociallogin):

        if sociallogin.account.provider != PROVIDER_ID:
            return
        if sociallogin.state.get("process", "login") != "login":
            # MitID signs a citizen in; it is never attached to an account someone is signed
            # in to (allauth's "connect"), so a staff account cannot gain a citizen's identity.
            _refuse(request, _("MitID can only be used to sign in to Min Sundhedsplatform."))
        claims = _claims(sociallogin.account.extra_data)
        if not level_sufficient(str(claims.get(LOA_CLAIM, ""))):
            _refuse(
                request,
                _(
                    "Your sign-in was at a lower level of assurance than the portal needs. "
                    "Sign in with MitID at level substantial or high (the MitID app or a code "
                    "display)."
                ),
            )
        if sociallogin.is_existing:
            patient = Patient.objects.filter(user=sociallogin.user).first()
        else:
            cpr = "".join(ch for ch in str(claims.get(CPR_CLAIM, "")) if ch.isdigit())
            patient = Patient.objects.filter(cpr=cpr).first() if len(cpr) == 10 else None
            if patient is not None and patient.user_id is not None:
                if StaffMember.objects.filter(user_id=patient.user_id).exists():
                    _refuse(request, _("A staff account cannot be used as a citizen's."))
                sociallogin.connect(request, patient.user)
        if patient is None:
            _refuse(
                request,
                _(
                    "We have no record about you at the hospitals of the region, so there is "
                    "nothing to show yet."
                ),
                status=404,
            )
        if StaffMember.objects.filter(user_id=patient.user_id).exists():
            _refuse(request, _("A staff account cannot be used as a citizen's."))
        sociallogin.state["sundhed_patient"] = patient.pk

    def is_auto_signup_allowed(self, request, sociallogin):
        return sociallogin.account.provider == PROVIDER_ID

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.username = f"borger-{sociallogin.account.uid[:30]}"
        user.email = ""
        return user

    def save_user(self, request, sociallogin, form=None):

        try:
            with transaction.atomic():
                user = super().save_user(request, sociallogin, form)
        except IntegrityError:
            # The same first sign-in finished a moment ago in another tab (a double click):
            # nothing of this one is kept, and signing in again finds that account.
            log.info("MitID first sign-in raced another for the same subject; sent back")
            raise ImmediateHttpResponse(redirect("portal:signin")) from None
        patient_id = sociallogin.state.get("sundhed_patient")
        if patient_id:
            Patient.objects.filter(pk=patient_id, user__isnull=True).update(user=user)
            patient = Patient.objects.get(pk=patient_id)
            # The name the hospitals know (the access log shows it when the citizen acts as a
            # proxy), not the broker's display name.
            user.first_name = patient.given_names[:150]
            user.last_name = patient.family_name[:150]
            user.save(update_fields=["first_name", "last_name"])
        return user

    def is_open_for_signup(self, request, sociallogin):
        return sociallogin.account.provider == PROVIDER_ID


@receiver(pre_save, sender="socialaccount.SocialAccount")
def _never_keep_the_cpr(sender, instance, **kwargs):
    instance.extra_data = scrubbed(instance.extra_data)


def _mark_citizen_session(sender, request, user, **kwargs):
    """A MitID sign-in marks the session with the citizen's patient; any other sign-in
    clears the mark (a staff sign-in in the same browser is never a citizen's)."""

    request.session.pop(ACTING_KEY, None)
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is not None and sociallogin.account.provider == PROVIDER_ID:
        patient = Patient.objects.filter(user=user).first()
        if patient is not None:
            request.session[SESSION_KEY] = patient.pk
            return
    request.session.pop(SESSION_KEY, None)


def connect_signals() -> None:

    user_logged_in.connect(_mark_citizen_session, dispatch_uid="portal-citizen-session")
