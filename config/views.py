"""Project-wide views: the CSRF failure page, and /favicon.ico for browsers that ask for it."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", {"reason": reason}, status=403)


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Pages name their icon (static/favicon.svg); a browser that asks for /favicon.ico anyway (a
    page of its own, say a PDF, or a feed reader) is sent there rather than answered 404."""
    return HttpResponseRedirect(static("favicon.svg"))
