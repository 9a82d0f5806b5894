from django.urls import path

from claims.views import exports, labelling, projects

urlpatterns = [
    path("", projects.home, name="home"),
    path("p/new/", projects.project_create, name="project_create"),
    path("p/<slug:slug>/", projects.project, name="project"),
    path("p/<slug:slug>/settings/", projects.project_settings, name="project_settings"),
    path("p/<slug:slug>/members/", projects.members, name="members"),
    path("p/<slug:slug>/import/", projects.import_articles, name="import_articles"),
    path("p/<slug:slug>/articles/<int:pk>/", projects.article, name="article"),
    path("p/<slug:slug>/label/", labelling.label, name="label"),
    path("p/<slug:slug>/sources/", labelling.source_options, name="source_options"),
    path("p/<slug:slug>/my-labels/", labelling.my_labels, name="my_labels"),
    path("p/<slug:slug>/export.csv", exports.export_csv, name="export_csv"),
]
