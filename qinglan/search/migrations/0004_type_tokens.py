"""Every index row carries its type's token (``backends.type_token``: ``qtype`` and the
resource's label, letters and digits only) at the start of its D column, so that SQLite's
full-text index gives one type's matches by itself. Rows indexed before get it here (the FTS5
triggers and PostgreSQL's generated vector follow the UPDATE); new rows get it from
``index.document``."""

from django.db import migrations

ADD_TOKEN = """
UPDATE search_searchentry
SET tokens_d = (
    SELECT 'qtype' || replace(ct.app_label, '_', '') || replace(ct.model, '_', '')
    FROM django_content_type ct WHERE ct.id = search_searchentry.content_type_id
) || ' ' || tokens_d
WHERE tokens_d NOT LIKE 'qtype%'
"""


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0003_vocabulary'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.RunSQL(ADD_TOKEN, migrations.RunSQL.noop),
    ]
