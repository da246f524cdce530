"""Self-serve pages for customers."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from channels_app import selectors


@login_required
def home(request):
    memberships = selectors.memberships_for_user(user=request.user)
    return render(request, "channels_app/home.html", {"memberships": memberships})
