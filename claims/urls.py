from django.urls import path

from claims.views import articles, dashboard, exports, labelling, projects, review, team

urlpatterns = [
    path("", projects.home, name="home"),
    path("p/new/", projects.project_create, name="project_create"),
    path("p/<slug:slug>/", projects.project, name="project"),
    path("p/<slug:slug>/settings/", projects.project_settings, name="project_settings"),
    path("p/<slug:slug>/members/", projects.members, name="members"),
    path("p/<slug:slug>/import/", projects.import_articles, name="import_articles"),
    path("p/<slug:slug>/articles/<int:pk>/", articles.article, name="article"),
    path("p/<slug:slug>/claims/<int:pk>/split/", articles.split_claim, name="claim_split"),
    path("p/<slug:slug>/claims/<int:pk>/merge/", articles.merge_claim, name="claim_merge"),
    path("p/<slug:slug>/claims/<int:pk>/adjust/", articles.adjust_claim, name="claim_adjust"),
    path("p/<slug:slug>/label/", labelling.label, name="label"),
    path("p/<slug:slug>/sources/", labelling.source_options, name="source_options"),
    path("p/<slug:slug>/my-labels/", labelling.my_labels, name="my_labels"),
    path("p/<slug:slug>/export.csv", exports.export_csv, name="export_csv"),
    path("p/<slug:slug>/export.jsonl", exports.export_jsonl, name="export_jsonl"),
    path("p/<slug:slug>/review/", review.review_queue, name="review_queue"),
    path("p/<slug:slug>/claims/<int:pk>/", review.claim_review, name="claim_review"),
    path("p/<slug:slug>/export-gold.csv", review.export_gold, name="export_gold"),
    path("p/<slug:slug>/dashboard/", dashboard.dashboard, name="dashboard"),
    path("p/<slug:slug>/assignments/", team.assignments, name="assignments"),
    path("p/<slug:slug>/assignments/articles/", team.article_options, name="article_options"),
]
