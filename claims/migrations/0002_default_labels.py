"""Load the default label set (fixtures/default_labels.json) as rows without a project.

New projects copy these rows; editing them in the admin changes the default for
projects created afterwards, not for existing ones.
"""

import json
from pathlib import Path

from django.db import migrations

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "default_labels.json"


def load_default_labels(apps, schema_editor):
    Label = apps.get_model("claims", "Label")
    for entry in json.loads(FIXTURE.read_text(encoding="utf-8")):
        fields = entry["fields"]
        Label.objects.get_or_create(
            project=None,
            dimension=fields["dimension"],
            value=fields["value"],
            defaults={
                "name": fields["name"],
                "description": fields["description"],
                "position": fields["position"],
            },
        )


def remove_default_labels(apps, schema_editor):
    apps.get_model("claims", "Label").objects.filter(project=None).delete()


class Migration(migrations.Migration):
    dependencies = [("claims", "0001_initial")]

    operations = [migrations.RunPython(load_default_labels, remove_default_labels)]
