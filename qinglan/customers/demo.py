"""Demo customers for `qinglan demo`: levels, regions, option lists, 60 customers of the
sales team with contacts and follow-ups, a few in the public pool, and the sales roles'
permissions on them."""

import datetime
import random

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from qinglan.core.permissions import Scope
from qinglan.org.models import Dictionary, DictionaryItem, Role, RolePermission, User

from .choices import ActivityKind, CustomerStatus, DecisionRole
from .models import Activity, Contact, Customer, CustomerLevel, Region, ValueGradeRule
from .services import ensure_defaults, prepare_contact, prepare_customer

REGIONS = {
    "台灣": ("TW", {"北部": ("TW-N", {"台北市": ("TPE", {}), "新北市": ("NTPC", {}), "桃園市": ("TYN", {})}),
                  "中部": ("TW-C", {"台中市": ("TXG", {})}),
                  "南部": ("TW-S", {"台南市": ("TNN", {}), "高雄市": ("KHH", {})})}),
    "中國大陸": ("CN", {"華東": ("CN-E", {"上海市": ("SHA", {})}), "華南": ("CN-S", {"深圳市": ("SZX", {})})}),
}
INDUSTRIES = [("manufacturing", "製造業"), ("electronics", "電子零組件"), ("retail", "零售業"), ("it", "資訊服務"), ("food", "食品餐飲"), ("logistics", "物流運輸")]
SOURCES = [("web", "官網詢價"), ("referral", "客戶介紹"), ("exhibition", "展覽會"), ("cold_call", "陌生開發"), ("ads", "網路廣告")]
COMPANIES = [
    ("台灣精密機械", "Taiwan Precision Machinery"), ("永豐電子", "Everrich Electronics"), ("大同食品", "Tatung Foods"),
    ("新北物流", "New Taipei Logistics"), ("宏達資訊", "Hongda Information"), ("高雄鋼鐵", "Kaohsiung Steel"),
    ("上海華聯貿易", "Shanghai Hualian Trading"), ("深圳創新科技", "Shenzhen Innovation Tech"), ("台中木業", "Taichung Woodworks"),
    ("桃園塑膠", "Taoyuan Plastics"), ("綠野生技", "Greenfield Biotech"), ("光明文具", "Bright Stationery"),
    ("金門酒廠", "Kinmen Distillery"), ("太平洋航運", "Pacific Shipping"), ("日昇能源", "Sunrise Energy"),
    ("藍海餐飲", "Blue Ocean Dining"), ("中華紡織", "Chunghwa Textiles"), ("北極星光電", "Polaris Optoelectronics"),
    ("好食超市", "Goodeats Supermarket"), ("東方建設", "Oriental Construction"),
]
SUFFIXES = ["股份有限公司", "有限公司", "企業社"]
SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪"
GIVEN = ["志明", "淑芬", "雅婷", "家豪", "怡君", "建宏", "美玲", "俊傑", "佳穎", "宗翰", "欣怡", "冠宇"]
TITLES = ["採購經理", "總經理", "財務主管", "工程師", "業務助理", "廠長"]
SUBJECTS = {
    ActivityKind.CALL: ["電話聯繫報價需求", "確認交期", "追蹤付款進度"],
    ActivityKind.VISIT: ["拜訪採購部門", "現場勘查", "年度合作洽談"],
    ActivityKind.MEETING: ["產品說明會", "合約條款討論", "年度合同續約洽談"],
    ActivityKind.EMAIL: ["寄送型錄與報價單", "回覆技術問題", "寄送合同草稿"],
    ActivityKind.NOTE: ["客戶有擴廠計畫", "競爭對手報價較低"],
}


def _regions(tree, parent=None, found=None):
    found = {} if found is None else found
    for name, (code, children) in tree.items():
        region = Region(name=name, code=code)
        region.new_parent = parent
        region.save()
        found[code] = region
        _regions(children, region, found)
    return found


def _options(code, items):
    dictionary = Dictionary.objects.get(code=code)
    return [DictionaryItem.objects.create(dictionary=dictionary, value=value, label=label, order=order) for order, (value, label) in enumerate(items)]


def _grant(role_name, models, actions, scope):
    role = Role.objects.get(name=role_name)
    for model in models:
        RolePermission.objects.update_or_create(
            role=role, content_type=ContentType.objects.get_for_model(model), defaults={"actions": actions, "scope": scope}
        )


def load_demo():
    ensure_defaults()
    rng = random.Random(2026)
    levels = [
        CustomerLevel.objects.create(name="VIP", order=1, pool_days=None, reclaim_days=30, description="重要客戶，不會退回公海"),
        CustomerLevel.objects.create(name="重點客戶", order=2, pool_days=60, reclaim_days=30),
        CustomerLevel.objects.create(name="一般客戶", order=3, pool_days=30, reclaim_days=15),
    ]
    for grade, minimum in (("A", 1_000_000), ("B", 300_000), ("C", 50_000), ("D", 0)):
        ValueGradeRule.objects.create(grade=grade, min_value=minimum)
    regions = [region for code, region in _regions(REGIONS).items() if len(code) == 3]
    industries = _options("customer-industry", INDUSTRIES)
    sources = _options("customer-source", SOURCES)
    owners = list(User.objects.filter(username__in=["sales", "sales2", "manager"]).order_by("username"))
    now = timezone.now()
    for index in range(60):
        chinese, latin = COMPANIES[index % len(COMPANIES)]
        branch = "" if index < len(COMPANIES) else ["北區分公司", "南區分公司"][index // len(COMPANIES) - 1]
        in_pool = index % 12 == 11
        customer = Customer(
            name=f"{chinese}{SUFFIXES[index % 3]}{branch}", name_latin=f"{latin} Co., Ltd.", short_name=chinese,
            tax_id=f"{53000000 + index * 7919 % 1000000:08d}", status=rng.choice(list(CustomerStatus.values)),
            is_supplier=index % 7 == 0, industry=rng.choice(industries), source=rng.choice(sources),
            level=rng.choice(levels), region=rng.choice(regions), phone=f"0{rng.randint(2, 8)}-{rng.randint(2000, 2999)}-{rng.randint(1000, 9999)}",
            email=f"contact{index}@{latin.split()[0].lower()}.example", website=f"https://www.{latin.split()[0].lower()}.example",
            owner=None if in_pool else owners[index % len(owners)], in_pool=in_pool, pooled_at=now if in_pool else None,
            potential_estimate=rng.choice([None, 30_000, 80_000, 150_000, 400_000, 1_200_000]),
        )
        prepare_customer(customer=customer, user=None, created=True)
        customer.save()
        for number in range(rng.randint(1, 3)):
            contact = Contact(
                customer=customer, name=rng.choice(SURNAMES) + rng.choice(GIVEN), title=rng.choice(TITLES),
                mobile=f"09{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(100, 999)}",
                email=f"person{index}.{number}@{latin.split()[0].lower()}.example", is_primary=number == 0,
                decision_role=rng.choice(list(DecisionRole.values)),
                birthday=datetime.date(rng.randint(1965, 1998), rng.randint(1, 12), rng.randint(1, 28)),
            )
            prepare_contact(contact=contact, user=None, created=True)
            contact.save()
        last = None
        for _step in range(rng.randint(0, 4)):
            kind = rng.choice(list(ActivityKind))
            occurred = now - datetime.timedelta(days=rng.randint(0, 90), hours=rng.randint(0, 8))
            next_date = (occurred + datetime.timedelta(days=rng.randint(3, 21))).date() if rng.random() < 0.5 else None
            Activity.objects.create(
                customer=customer, owner=customer.owner or owners[0], kind=kind, subject=rng.choice(SUBJECTS[kind]),
                occurred_at=occurred, outcome="", next_follow_up=next_date,
            )
            last = max(last or occurred, occurred)
        upcoming = customer.activities.filter(next_follow_up__gte=timezone.localdate()).order_by("next_follow_up").first()
        Customer.objects.filter(pk=customer.pk).update(last_activity_at=last, next_follow_up=upcoming.next_follow_up if upcoming else None)

    records = [Customer, Contact, Activity]
    _grant("業務員", records, ["view", "add", "change", "export"], Scope.OWN)
    _grant("業務主管", records, ["view", "add", "change", "delete", "export", "import"], Scope.SUBTREE)
    _grant("業務員", [Region, CustomerLevel, ValueGradeRule], ["view"], Scope.ALL)
    _grant("業務主管", [Region, CustomerLevel, ValueGradeRule], ["view"], Scope.ALL)
