"""The product's URLs plus the floor the benchmarks compare against."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
def ping(request: HttpRequest) -> HttpResponse:
    """The least a Django view can do: the full middleware stack, no query, no template."""
    return HttpResponse(b"pong", content_type="text/plain")


urlpatterns = [
    path("bench/ping/", ping, name="bench_ping"),
    path("", include("workbench.urls")),
]
