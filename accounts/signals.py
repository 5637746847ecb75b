"""Sign-in signals: a factor just set up counts as the factor this session used."""

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.signals import authenticator_added
from django.dispatch import receiver


@receiver(authenticator_added)
def record_the_new_factor(sender, request, user, authenticator, **kwargs):
    """Setting up TOTP proves the code once; asking for it again at once would only annoy."""
    if request is not None:
        record_authentication(request, user, "mfa", type=authenticator.type, id=authenticator.pk)
