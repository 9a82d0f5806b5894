"""The stylesheet and scripts every page links to, drawn once per process.

``{% static %}`` asks the storage for each file's URL (with the manifest of a
deployed server, the hashed name) and django-htmx's ``{% htmx_script %}`` does
the same for htmx: 0.1 ms of every page, labelling page included, for tags
that only change with the settings.
"""

from __future__ import annotations

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django_htmx.jinja import htmx_script

register = template.Library()

_drawn: list[SafeString] = []


@register.simple_tag
def page_assets() -> SafeString:
    """<link> to the stylesheet, <script>s for htmx and the page's own script."""
    if not _drawn:
        _drawn.append(
            format_html(
                '<link rel="stylesheet" href="{}">\n  {}\n  <script src="{}" defer></script>',
                static("claims/app.css"),
                htmx_script(),
                static("claims/app.js"),
            )
        )
    return _drawn[0]


@receiver(setting_changed)
def _forget(**kwargs: object) -> None:
    # Static URLs follow STATIC_URL and STORAGES; htmx's script, DEBUG.
    _drawn.clear()
