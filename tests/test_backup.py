"""A backup (``export_annotations --all``) restored into an empty database is the same data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from claims.models import (
    Annotation,
    AnnotationRevision,
    AnnotationSource,
    Article,
    Assignment,
    Claim,
    GoldLabel,
    Label,
    LabelValues,
    Membership,
    Project,
    Source,
    SourceAlias,
    SourceChoice,
)

from .test_labeling import post_label

# Every table the backup promises, in the order rows are compared.
TABLES = [
    Project,
    Label,
    Membership,
    Article,
    Assignment,
    Claim,
    Source,
    SourceAlias,
    Annotation,
    AnnotationSource,
    AnnotationRevision,
    GoldLabel,
]


def canonical_dump() -> dict[str, list[dict]]:
    """Every row of every backed-up table, people by username, labels without their ids."""
    usernames = dict(get_user_model().objects.values_list("pk", "username"))
    dump: dict[str, list[dict]] = {}
    for model in TABLES:
        fields = model._meta.concrete_fields
        rows = model.objects.all()
        if model is Label:
            rows = rows.filter(project__isnull=False)
        dumped = []
        for row in rows.order_by("pk").values(*(f.attname for f in fields)):
            for f in fields:
                if f.is_relation and f.related_model is get_user_model() and row[f.attname]:
                    row[f.attname] = usernames[row[f.attname]]
            if model is Label:
                del row["id"]
            if model is GoldLabel:
                row["sources"] = sorted(
                    GoldLabel.objects.get(pk=row["id"]).sources.values_list("pk", flat=True)
                )
            dumped.append(row)
        if model is Label:
            dumped.sort(key=lambda row: (row["project_id"], row["dimension"], row["value"]))
        dump[model.__name__] = dumped
    return dump


def wipe() -> None:
    """Empty the database as a new one would be (the default label set stays)."""
    GoldLabel.objects.all().delete()
    AnnotationRevision.objects.all().delete()
    Annotation.objects.all().delete()
    Project.objects.all().delete()
    get_user_model().objects.all().delete()


@pytest.fixture
def rich(project, article, annotator_client, annotator2_client, reviewer, annotator, manager):
    first, second, third = article.claims.order_by("index")[:3]
    post_label(
        annotator_client,
        project,
        first,
        source=["KCNA", "South Korean intelligence"],
        source_kind=["state_media", "intelligence"],
        source_wording=["KCNA", ""],
        attribution_cue="according to",
        note='Edited, "twice"\nüñí',
    )
    annotation = Annotation.objects.get(claim=first, annotator__username="annotator")
    post_label(
        annotator_client,
        project,
        first,
        confidence="claimed",
        revision=1,
        source=["KCNA", "South Korean intelligence"],
        source_kind=["state_media", "intelligence"],
        source_wording=["KCNA", ""],
    )
    post_label(annotator2_client, project, first, confidence="estimated", certainty="low")
    post_label(annotator2_client, project, second, claim_kind="not_a_claim", confidence="")
    assert Annotation.objects.filter(project=project).count() == 3
    assert AnnotationRevision.objects.filter(annotation=annotation).count() == 2
    kcna = Source.objects.get(project=project, name="KCNA")
    SourceAlias.objects.create(source=kcna, alias="Korean Central News Agency")
    gold = GoldLabel.objects.create(
        claim=first,
        reviewer=reviewer,
        confidence="claimed",
        claim_kind="claim",
        attribution_cue="according to",
        note="settled",
        picked_from=annotation,
    )
    gold.sources.set([kcna])
    Assignment.objects.create(article=article, user=annotator)
    Claim.objects.filter(pk=third.pk).update(needs_review=True)
    Annotation.objects.filter(pk=annotation.pk).update(
        created_at=datetime(2025, 10, 23, 8, 30, 1, 123456, tzinfo=UTC)
    )
    other = Project.objects.create(name="Other", slug="other", annotations_per_claim=1)
    other.copy_default_labels()
    Label.objects.filter(project=other, value="unclear").update(name="Not clear at all")
    Membership.objects.create(project=other, user=manager, role="manager")
    Article.objects.import_records(other, [])
    return project


def backup_to(path) -> None:
    call_command("export_annotations", "--all", "--format", "jsonl", "-o", str(path))


def test_restore_gives_back_the_same_data(rich, manager_client, tmp_path):
    before = canonical_dump()
    csv_before = b"".join(manager_client.get("/p/troops/export.csv").streaming_content)
    path = tmp_path / "backup.jsonl"
    backup_to(path)
    wipe()
    assert canonical_dump() != before

    call_command("import_annotations", str(path))

    assert canonical_dump() == before
    # Ids are kept, so the annotation export of the restored data is byte for byte the same.
    manager_client.force_login(get_user_model().objects.get(username="manager"))
    csv_after = b"".join(manager_client.get("/p/troops/export.csv").streaming_content)
    assert csv_after == csv_before


def test_restored_people_have_no_usable_password_and_the_summary_names_them(rich, tmp_path, capsys):
    path = tmp_path / "backup.jsonl"
    backup_to(path)
    wipe()
    capsys.readouterr()
    call_command("import_annotations", str(path))
    out = capsys.readouterr().out
    assert "annotator, annotator2" in out or "annotator2" in out
    assert "changepassword" in out
    users = get_user_model().objects.all()
    assert sorted(users.values_list("username", flat=True)) == [
        "annotator",
        "annotator2",
        "manager",
        "reviewer",
    ]
    assert not any(user.has_usable_password() for user in users)


def test_existing_people_are_matched_by_username(rich, tmp_path):
    path = tmp_path / "backup.jsonl"
    backup_to(path)
    GoldLabel.objects.all().delete()
    AnnotationRevision.objects.all().delete()
    Annotation.objects.all().delete()
    Project.objects.all().delete()
    kept = get_user_model().objects.get(username="annotator")
    call_command("import_annotations", str(path))
    assert Annotation.objects.filter(annotator=kept).count() == 1
    assert kept.has_usable_password()


def test_a_restore_into_a_database_with_data_is_refused(rich, tmp_path):
    path = tmp_path / "backup.jsonl"
    backup_to(path)
    before = canonical_dump()
    with pytest.raises(CommandError, match="backup.jsonl: the database already holds project"):
        call_command("import_annotations", str(path))
    assert canonical_dump() == before


def test_the_backup_holds_every_kind_of_row(rich, tmp_path):
    path = tmp_path / "backup.jsonl"
    backup_to(path)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert records[0] == {"type": "claim-workbench-backup", "version": 1}
    kinds = {record["type"] for record in records[1:]}
    assert kinds == {
        "project",
        "label",
        "member",
        "article",
        "assignment",
        "claim",
        "source",
        "alias",
        "annotation",
        "annotation_source",
        "revision",
        "gold",
    }
    members = [record for record in records if record["type"] == "member"]
    assert {record["user"] for record in members} >= {"manager", "annotator", "reviewer"}
    [gold] = [record for record in records if record["type"] == "gold"]
    assert gold["reviewer"] == "reviewer" and len(gold["sources"]) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "backup.jsonl: the file is empty"),
        ('{"title": "A", "body": "B"}\n', "backup.jsonl, line 1: this is not a backup"),
        (
            '{"type": "claim-workbench-backup", "version": 1}\n{"type": "project", "id": 1,\n',
            "backup.jsonl, line 2: this line is not valid JSON",
        ),
        (
            '{"type": "claim-workbench-backup", "version": 1}\n{"type": "planet", "id": 1}\n',
            "backup.jsonl, line 2: unknown row type 'planet'",
        ),
        (
            '{"type": "claim-workbench-backup", "version": 9}\n',
            "backup.jsonl, line 1: backup version 9 cannot be read",
        ),
    ],
)
def test_a_bad_backup_is_refused_with_file_and_line(db, tmp_path, content, message):
    path = tmp_path / "backup.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError) as error:
        call_command("import_annotations", str(path))
    assert message in str(error.value)


def test_a_backup_broken_halfway_restores_nothing(rich, tmp_path):
    path = tmp_path / "backup.jsonl"
    backup_to(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    broken = next(n for n, line in enumerate(lines) if '"type": "annotation"' in line)
    lines[broken] = lines[broken].replace('"confidence"', '"confidence_typo"')
    path.write_text("".join(lines), encoding="utf-8")
    wipe()
    with pytest.raises(CommandError, match=f"line {broken + 1}: unknown field"):
        call_command("import_annotations", str(path))
    assert not Project.objects.exists() and not get_user_model().objects.exists()


def test_export_all_needs_jsonl(db):
    with pytest.raises(CommandError, match="--format jsonl"):
        call_command("export_annotations", "--all")


def test_label_values_restore_as_the_labelling_form_saved_them(rich, tmp_path):
    path = tmp_path / "backup.jsonl"
    backup_to(path)
    wipe()
    call_command("import_annotations", str(path))
    claim = Claim.objects.get(project__slug="troops", index=0)
    annotation = claim.annotations.get(annotator__username="annotator")
    assert annotation.revision == 2 and annotation.confidence == "claimed"
    assert annotation.source_names() == ["KCNA", "South Korean intelligence"]
    # The restored data keeps working: a new label goes in beside the old ones.
    later = Claim.objects.get(project__slug="troops", index=3)
    later.project = later.article.project
    saved = later.record_label(
        annotator=get_user_model().objects.get(username="annotator"),
        values=LabelValues(
            confidence="asserted", claim_kind="claim", sources=[SourceChoice("KCNA")]
        ),
    )
    assert saved.pk > annotation.pk


def test_a_backup_naming_rows_it_does_not_hold_is_refused(rich, tmp_path):
    path = tmp_path / "backup.jsonl"
    backup_to(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [line for line in lines if '"type": "article"' not in line]
    path.write_text("".join(lines), encoding="utf-8")
    wipe()
    with pytest.raises(CommandError, match="backup.jsonl: the backup does not hold together"):
        call_command("import_annotations", str(path))
    assert not Project.objects.exists() and not get_user_model().objects.exists()


def test_every_table_is_backed_up_or_left_out_on_purpose():
    from django.apps import apps

    from claims import backup

    # Queue state, upload jobs, figures computed again from the labels, and
    # login sessions (a restored workbench asks everyone to sign in again).
    left_out = {"Reservation", "Skip", "ImportJob", "ProjectFigures", "UserSession"}
    models_here = {model.__name__ for model in apps.get_app_config("claims").get_models()}
    backed_up = {model.__name__ for model in backup.TABLES.values()}
    assert models_here - left_out == backed_up
