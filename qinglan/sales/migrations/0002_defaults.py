"""The opportunity number sequence (OP2026-00001…), the usual pipeline stages and loss
reasons, named in the installation's language (see qinglan/sales/defaults.py)."""

from django.conf import settings
from django.db import migrations

from qinglan.sales.defaults import SEQUENCE, create_defaults


def create(apps, schema_editor):
    create_defaults(apps.get_model, settings.LANGUAGE_CODE)


def remove(apps, schema_editor):
    apps.get_model("org", "NumberSequence").objects.filter(code=SEQUENCE["code"]).delete()


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial"), ("org", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
