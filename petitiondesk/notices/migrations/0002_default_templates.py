"""Seed the default wording of every kind of notice, in Chinese and English (version 1)."""

from pathlib import Path

from django.db import migrations

DEFAULTS = Path(__file__).resolve().parent.parent / "defaults"


def seed(apps, schema_editor):
    from petitiondesk.notices.rendering import DEFAULT_TITLES

    NoticeTemplate = apps.get_model("notices", "NoticeTemplate")
    for language, titles in DEFAULT_TITLES.items():
        for kind, title in titles.items():
            if NoticeTemplate.objects.filter(kind=kind, language=language).exists():
                continue
            body = (DEFAULTS / str(language) / f"{kind}.html").read_text(encoding="utf-8")
            NoticeTemplate.objects.create(
                kind=kind, language=language, title=title, body=body, version=1, is_active=True
            )


def unseed(apps, schema_editor):
    apps.get_model("notices", "NoticeTemplate").objects.filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("notices", "0001_notice_templates_notices_deliveries")]

    operations = [migrations.RunPython(seed, unseed)]
