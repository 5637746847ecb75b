"""Project-level pages."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def home(request):
    """The start page after sign-in."""
    return render(request, "home.html")
