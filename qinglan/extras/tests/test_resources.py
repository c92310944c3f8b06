from django.contrib.contenttypes.models import ContentType

from qinglan.core import testing
from qinglan.extras.models import FieldDef, Tag, Webhook
from qinglan.org.models import Position


class TagTests(testing.ResourceTestCase):
    model = Tag
    form_data = {"name": "重要客戶", "slug": "vip", "color": "#ff0000"}
    update_data = {"color": "#00ff00"}
    csv_data = "name,slug,color\n潛在,potential,#123456\n流失,lost,#654321\n"
    bulk_edit_data = {"color": "#111111"}


class FieldDefTests(testing.ResourceTestCase):
    model = FieldDef

    @property
    def form_data(self):
        return {"content_type": ContentType.objects.get_for_model(Position).pk, "name": "grade", "label": "職等", "type": "integer", "order": "10", "filterable": "on"}

    update_data = {"label": "職等級"}
    second_form_data = {"name": "grade2", "label": "職等二"}


class WebhookTests(testing.ResourceTestCase):
    model = Webhook

    @property
    def form_data(self):
        return {"name": "ERP", "url": "http://127.0.0.1:9/hook", "events": "org.*", "owner": self.member.pk, "active": "on"}

    update_data = {"url": "http://127.0.0.1:9/other"}
