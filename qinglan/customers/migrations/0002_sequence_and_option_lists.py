"""The customer number sequence (C000001…) and the option lists customers use; an
administrator fills and edits the options under System settings → Dictionaries."""

from django.db import migrations

SEQUENCE = {"code": "customer", "name": "客戶編號 Customer numbers", "prefix": "C", "padding": 6, "reset_yearly": False}
DICTIONARIES = {"customer-industry": "客戶行業 Customer industries", "customer-source": "客戶來源 Customer sources"}


def create(apps, schema_editor):
    NumberSequence = apps.get_model("org", "NumberSequence")
    Dictionary = apps.get_model("org", "Dictionary")
    NumberSequence.objects.get_or_create(code=SEQUENCE["code"], defaults=SEQUENCE)
    for code, name in DICTIONARIES.items():
        Dictionary.objects.get_or_create(code=code, defaults={"name": name})


def remove(apps, schema_editor):
    apps.get_model("org", "NumberSequence").objects.filter(code=SEQUENCE["code"]).delete()
    apps.get_model("org", "Dictionary").objects.filter(code__in=list(DICTIONARIES)).delete()


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial"), ("org", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
