"""Request plumbing of the project: the security header and the client's address."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    """Send the Content-Security-Policy header on every response.

    The policy has no 'unsafe-inline': every script is a static file, so an
    injected <script> or on* attribute cannot run even if escaping failed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


def client_address(request: HttpRequest) -> str:
    """The client's address, for login throttling.

    Each of PROXY_COUNT proxies appends the address it saw to
    X-Forwarded-For, so the client's is that many entries from the right;
    entries further left were sent by the client itself and prove nothing.
    Without proxies, or when the header is short, the connection's address.
    """
    proxies = settings.PROXY_COUNT
    if proxies:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        hops = [hop.strip() for hop in forwarded if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")
