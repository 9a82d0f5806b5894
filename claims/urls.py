from django.urls import path

from claims import views

urlpatterns = [
    path("", views.home, name="home"),
    path("p/new/", views.project_create, name="project_create"),
    path("p/<slug:slug>/", views.project, name="project"),
    path("p/<slug:slug>/settings/", views.project_settings, name="project_settings"),
    path("p/<slug:slug>/members/", views.members, name="members"),
    path("p/<slug:slug>/import/", views.import_articles, name="import_articles"),
    path("p/<slug:slug>/articles/<int:pk>/", views.article, name="article"),
    path("p/<slug:slug>/label/", views.label, name="label"),
    path("p/<slug:slug>/sources/", views.source_options, name="source_options"),
    path("p/<slug:slug>/my-labels/", views.my_labels, name="my_labels"),
    path("p/<slug:slug>/export.csv", views.export_csv, name="export_csv"),
]
