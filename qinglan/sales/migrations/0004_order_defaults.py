"""The usual tax rates and payment terms, named in the installation's language (see
qinglan/sales/defaults.py); administrators change them under Sales."""

from django.conf import settings
from django.db import migrations

from qinglan.sales.defaults import create_defaults


def create(apps, schema_editor):
    create_defaults(apps.get_model, settings.LANGUAGE_CODE)


class Migration(migrations.Migration):
    dependencies = [("sales", "0003_sales_orders")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
