from django.contrib.contenttypes.models import ContentType

from qinglan.core.testing import sample_factory
from qinglan.extras.models import FieldDef, Tag, Webhook
from qinglan.org.models import Position


@sample_factory(Tag)
def tag(owner, serial):
    return Tag.objects.create(name=f"矩陣標籤{serial}", slug=f"matrix-{serial}"), None, None


@sample_factory(FieldDef)
def field_def(owner, serial):
    record = FieldDef.objects.create(
        content_type=ContentType.objects.get_for_model(Position), name=f"matrix{serial}", label=f"矩陣欄位{serial}"
    )
    return record, None, None


@sample_factory(Webhook)
def webhook(owner, serial):
    record = Webhook.objects.create(name=f"矩陣{serial}", url="http://127.0.0.1:9/", events=["*"], owner=owner)
    return record, owner, owner.department
