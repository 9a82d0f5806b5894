from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client


def test_every_model_of_the_app_is_in_the_admin():
    models = set(apps.get_app_config("claims").get_models())
    assert models <= set(admin.site._registry), models - set(admin.site._registry)


def test_admin_lists_and_add_pages_open_for_a_superuser(db, article, annotator_client, project):
    from .test_labeling import post_label

    post_label(annotator_client, project, article.claims.order_by("index").first(), source=["KCNA"])
    superuser = get_user_model().objects.create_superuser(
        "root", "root@example.org", "pw-123456789"
    )
    client = Client()
    client.force_login(superuser)
    for model in apps.get_app_config("claims").get_models():
        name = model._meta.model_name
        listing = client.get(f"/admin/claims/{name}/")
        assert listing.status_code == 200, name
        first = model.objects.first()
        if first is not None:
            assert client.get(f"/admin/claims/{name}/{first.pk}/change/").status_code == 200, name


def test_admin_is_closed_to_project_managers_without_staff_status(manager_client):
    response = manager_client.get("/admin/claims/annotation/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
