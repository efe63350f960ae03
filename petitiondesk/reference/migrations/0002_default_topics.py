from pathlib import Path

import yaml
from django.db import migrations

DEFAULT = Path(__file__).resolve().parent.parent / "topics_default.yaml"


def load_default_topics(apps, schema_editor):
    """A fresh install offers the first-level topics; `petitiondesk topics load` adds more."""
    Topic = apps.get_model("reference", "Topic")
    if Topic.objects.exists():
        return
    for position, rec in enumerate(yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))["topics"]):
        Topic.objects.create(
            code=rec["code"], name=rec["name"], name_en=rec.get("name_en", ""), position=position
        )


class Migration(migrations.Migration):
    dependencies = [("reference", "0001_initial")]
    operations = [migrations.RunPython(load_default_topics, migrations.RunPython.noop)]
