"""Demo catalogue for `qinglan demo`: a category tree (電子產品, 辦公用品, 食品飲料) with
inherited attributes, brands, units and conversions, about forty products with variants and
pictures, and the sales roles' permissions on them."""

import io
import random
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile

from qinglan.core.permissions import Scope

from . import services
from .models import Attribute, Brand, Category, Product, ProductImage, ProductVariant, Unit, UnitConversion
from .validators import gtin_check_digit

CATEGORIES = {
    # code: (name, parent code, description)
    "ELEC": ("電子產品", None, "Electronics"),
    "PHONE": ("手機", "ELEC", "Mobile phones"),
    "SMART": ("智慧型手機", "PHONE", "Smartphones"),
    "FEAT": ("功能型手機", "PHONE", "Feature phones"),
    "COMP": ("電腦", "ELEC", "Computers"),
    "LAPTOP": ("筆記型電腦", "COMP", "Laptops"),
    "DESKTOP": ("桌上型電腦", "COMP", "Desktops"),
    "ACC": ("配件", "ELEC", "Accessories"),
    "CHARGER": ("充電器", "ACC", "Chargers"),
    "AUDIO": ("耳機", "ACC", "Headphones"),
    "OFFICE": ("辦公用品", None, "Office supplies"),
    "PAPER": ("紙張", "OFFICE", "Paper"),
    "PEN": ("書寫工具", "OFFICE", "Pens"),
    "FOOD": ("食品飲料", None, "Food and beverages"),
    "TEA": ("茶葉", "FOOD", "Tea"),
    "COFFEE": ("咖啡", "FOOD", "Coffee"),
}
COLOURS = ["黑色", "白色", "銀色", "藍色", "粉紅色", "綠色", "紅色"]
ATTRIBUTES = [
    # category, code, name, type, unit, options, required, for_variants
    ("PHONE", "screen_size", "螢幕尺寸", "number", "吋", [], True, False),
    ("PHONE", "os", "作業系統", "choice", "", ["iOS", "Android", "其他"], True, False),
    ("PHONE", "has_5g", "支援 5G", "boolean", "", [], False, False),
    ("SMART", "battery", "電池容量", "number", "mAh", [], False, False),
    ("SMART", "release_date", "上市日期", "date", "", [], False, False),
    ("SMART", "storage", "儲存容量", "choice", "", ["128GB", "256GB", "512GB", "1TB"], True, True),
    ("SMART", "colour", "顏色", "choice", "", COLOURS, True, True),
    ("COMP", "cpu", "處理器", "text", "", [], True, False),
    ("COMP", "ram", "記憶體", "choice", "", ["8GB", "16GB", "32GB", "64GB"], True, False),
    ("LAPTOP", "screen_size", "螢幕尺寸", "number", "吋", [], True, False),
    ("LAPTOP", "touch", "觸控螢幕", "boolean", "", [], False, False),
    ("CHARGER", "power", "輸出功率", "number", "W", [], True, False),
    ("CHARGER", "connector", "接頭", "choice", "", ["USB-C", "Lightning", "Micro-USB"], True, False),
    ("AUDIO", "wireless", "無線", "boolean", "", [], True, False),
    ("AUDIO", "anc", "主動降噪", "boolean", "", [], False, False),
    ("AUDIO", "colour", "顏色", "choice", "", COLOURS, False, True),
    ("PAPER", "paper_size", "紙張尺寸", "choice", "", ["A4", "A3", "B5", "Letter"], True, False),
    ("PAPER", "gsm", "基重", "number", "g/m²", [], True, False),
    ("PEN", "tip", "筆尖粗細", "number", "mm", [], False, False),
    ("PEN", "ink_colour", "墨水顏色", "choice", "", ["黑", "藍", "紅", "綠"], False, True),
    ("FOOD", "net_weight", "淨重", "number", "g", [], True, False),
    ("FOOD", "shelf_life", "保存期限", "number", "天", [], False, False),
    ("TEA", "origin", "產地", "choice", "", ["阿里山", "梨山", "杉林溪", "凍頂", "日月潭", "文山"], True, False),
    ("TEA", "fermentation", "發酵程度", "choice", "", ["不發酵", "輕發酵", "半發酵", "全發酵"], False, False),
    ("COFFEE", "roast", "烘焙度", "choice", "", ["淺焙", "中焙", "深焙"], True, False),
    ("COFFEE", "ground", "研磨", "boolean", "", [], False, False),
]
BRANDS = [
    ("蘋果", "Apple"), ("三星", "Samsung"), ("華碩", "ASUS"), ("宏碁", "Acer"), ("小米", "Xiaomi"), ("索尼", "Sony"),
    ("諾基亞", "Nokia"), ("倍思", "Baseus"), ("Double A", "Double A"), ("百樂", "Pilot"), ("斑馬", "Zebra"),
    ("天仁茗茶", "Ten Ren"), ("王德傳", "Wang De Chuan"), ("路易莎", "Louisa"),
]
UNITS = [
    ("pcs", "個", "單一件"), ("unit", "台", "機器、設備"), ("box", "箱", "外箱"), ("ream", "令", "紙張 500 張"),
    ("sheet", "張", ""), ("pack", "包", ""), ("can", "罐", ""), ("kg", "公斤", ""), ("g", "克", ""), ("dozen", "打", "12 個"),
]
SHARED_CONVERSIONS = [("box", "12", "pcs"), ("dozen", "12", "pcs"), ("kg", "1000", "g"), ("ream", "500", "sheet")]

# code, name, Latin name, category, brand (Latin), unit, price, attributes, variants [(suffix, attributes, price)]
PRODUCTS = [
    ("PH-IP15P", "iPhone 15 Pro", "iPhone 15 Pro", "SMART", "Apple", "unit", 36900,
     {"screen_size": "6.1", "os": "iOS", "has_5g": True, "battery": "3274", "release_date": "2023-09-22"},
     [("BK-128", {"colour": "黑色", "storage": "128GB"}, None), ("BK-256", {"colour": "黑色", "storage": "256GB"}, 40400),
      ("WH-128", {"colour": "白色", "storage": "128GB"}, None), ("BL-512", {"colour": "藍色", "storage": "512GB"}, 47400)]),
    ("PH-IP15", "iPhone 15", "iPhone 15", "SMART", "Apple", "unit", 29900,
     {"screen_size": "6.1", "os": "iOS", "has_5g": True, "battery": "3349", "release_date": "2023-09-22"},
     [("PK-128", {"colour": "粉紅色", "storage": "128GB"}, None), ("GR-256", {"colour": "綠色", "storage": "256GB"}, 33400)]),
    ("PH-GS24", "Galaxy S24", "Samsung Galaxy S24", "SMART", "Samsung", "unit", 27900,
     {"screen_size": "6.2", "os": "Android", "has_5g": True, "battery": "4000", "release_date": "2024-01-31"},
     [("BK-256", {"colour": "黑色", "storage": "256GB"}, None), ("SV-256", {"colour": "銀色", "storage": "256GB"}, None),
      ("BK-512", {"colour": "黑色", "storage": "512GB"}, 31900)]),
    ("PH-GS24U", "Galaxy S24 Ultra", "Samsung Galaxy S24 Ultra", "SMART", "Samsung", "unit", 42900,
     {"screen_size": "6.8", "os": "Android", "has_5g": True, "battery": "5000", "release_date": "2024-01-31"},
     [("BK-256", {"colour": "黑色", "storage": "256GB"}, None), ("BK-1T", {"colour": "黑色", "storage": "1TB"}, 55900)]),
    ("PH-ZF11", "Zenfone 11 Ultra", "ASUS Zenfone 11 Ultra", "SMART", "ASUS", "unit", 24990,
     {"screen_size": "6.78", "os": "Android", "has_5g": True, "battery": "5500", "release_date": "2024-03-14"},
     [("BL-256", {"colour": "藍色", "storage": "256GB"}, None), ("BK-512", {"colour": "黑色", "storage": "512GB"}, 27990)]),
    ("PH-XM14", "小米 14", "Xiaomi 14", "SMART", "Xiaomi", "unit", 23999,
     {"screen_size": "6.36", "os": "Android", "has_5g": True, "battery": "4610", "release_date": "2024-03-07"},
     [("GR-512", {"colour": "綠色", "storage": "512GB"}, None), ("WH-512", {"colour": "白色", "storage": "512GB"}, None)]),
    ("PH-XP1", "Xperia 1 VI", "Sony Xperia 1 VI", "SMART", "Sony", "unit", 41990,
     {"screen_size": "6.5", "os": "Android", "has_5g": True, "battery": "5000", "release_date": "2024-06-14"},
     [("BK-256", {"colour": "黑色", "storage": "256GB"}, None)]),
    ("PH-NK105", "Nokia 105 功能型手機", "Nokia 105", "FEAT", "Nokia", "unit", 890,
     {"screen_size": "1.8", "os": "其他", "has_5g": False}, []),
    ("PH-NK3210", "Nokia 3210 4G", "Nokia 3210 4G", "FEAT", "Nokia", "unit", 2290,
     {"screen_size": "2.4", "os": "其他", "has_5g": False}, []),
    ("NB-ZB14", "Zenbook 14 OLED", "ASUS Zenbook 14 OLED", "LAPTOP", "ASUS", "unit", 35900,
     {"cpu": "Intel Core Ultra 7 155H", "ram": "16GB", "screen_size": "14", "touch": True}, []),
    ("NB-ROG16", "ROG Strix G16 電競筆電", "ASUS ROG Strix G16", "LAPTOP", "ASUS", "unit", 52900,
     {"cpu": "Intel Core i9-14900HX", "ram": "32GB", "screen_size": "16", "touch": False}, []),
    ("NB-SW14", "Swift Go 14", "Acer Swift Go 14", "LAPTOP", "Acer", "unit", 29900,
     {"cpu": "Intel Core Ultra 5 125H", "ram": "16GB", "screen_size": "14", "touch": False}, []),
    ("NB-MBA13", "MacBook Air 13 吋", "MacBook Air 13-inch", "LAPTOP", "Apple", "unit", 35900,
     {"cpu": "Apple M3", "ram": "8GB", "screen_size": "13.6", "touch": False}, []),
    ("NB-MBP14", "MacBook Pro 14 吋", "MacBook Pro 14-inch", "LAPTOP", "Apple", "unit", 54900,
     {"cpu": "Apple M3 Pro", "ram": "16GB", "screen_size": "14.2", "touch": False}, []),
    ("DT-AS-S500", "華碩 S500 桌上型電腦", "ASUS S500 Desktop", "DESKTOP", "ASUS", "unit", 21900,
     {"cpu": "Intel Core i5-13400", "ram": "16GB"}, []),
    ("DT-AC-AS", "宏碁 Aspire TC 桌上型電腦", "Acer Aspire TC", "DESKTOP", "Acer", "unit", 18900,
     {"cpu": "Intel Core i5-12400", "ram": "8GB"}, []),
    ("DT-MACMINI", "Mac mini", "Mac mini", "DESKTOP", "Apple", "unit", 19900,
     {"cpu": "Apple M2", "ram": "8GB"}, []),
    ("CH-AP20", "20W USB-C 電源轉接器", "Apple 20W USB-C Power Adapter", "CHARGER", "Apple", "pcs", 590,
     {"power": "20", "connector": "USB-C"}, []),
    ("CH-SS45", "45W 超快速充電器", "Samsung 45W Super Fast Charger", "CHARGER", "Samsung", "pcs", 1290,
     {"power": "45", "connector": "USB-C"}, []),
    ("CH-BS65", "倍思 65W 氮化鎵充電器", "Baseus GaN 65W Charger", "CHARGER", "Baseus", "pcs", 990,
     {"power": "65", "connector": "USB-C"}, []),
    ("CH-BS-LT", "倍思 Lightning 快充線組", "Baseus Lightning Fast Charging Kit", "CHARGER", "Baseus", "pcs", 490,
     {"power": "20", "connector": "Lightning"}, []),
    ("AU-APP2", "AirPods Pro 第 2 代", "AirPods Pro (2nd generation)", "AUDIO", "Apple", "pcs", 7490,
     {"wireless": True, "anc": True}, [("WH", {"colour": "白色"}, None)]),
    ("AU-WH1000", "WH-1000XM5 無線降噪耳機", "Sony WH-1000XM5", "AUDIO", "Sony", "pcs", 10990,
     {"wireless": True, "anc": True}, [("BK", {"colour": "黑色"}, None), ("SV", {"colour": "銀色"}, None), ("BL", {"colour": "藍色"}, 11490)]),
    ("AU-GBUDS", "Galaxy Buds FE", "Samsung Galaxy Buds FE", "AUDIO", "Samsung", "pcs", 2990,
     {"wireless": True, "anc": True}, [("BK", {"colour": "黑色"}, None), ("WH", {"colour": "白色"}, None)]),
    ("AU-XMB", "小米有線耳機", "Xiaomi Wired Earphones", "AUDIO", "Xiaomi", "pcs", 299,
     {"wireless": False, "anc": False}, []),
    ("PP-DA-A4-70", "Double A 影印紙 A4 70g", "Double A Copy Paper A4 70gsm", "PAPER", "Double A", "ream", 145,
     {"paper_size": "A4", "gsm": "70"}, []),
    ("PP-DA-A4-80", "Double A 影印紙 A4 80g", "Double A Copy Paper A4 80gsm", "PAPER", "Double A", "ream", 165,
     {"paper_size": "A4", "gsm": "80"}, []),
    ("PP-DA-A3-80", "Double A 影印紙 A3 80g", "Double A Copy Paper A3 80gsm", "PAPER", "Double A", "ream", 330,
     {"paper_size": "A3", "gsm": "80"}, []),
    ("PP-DA-B5-70", "Double A 影印紙 B5 70g", "Double A Copy Paper B5 70gsm", "PAPER", "Double A", "ream", 120,
     {"paper_size": "B5", "gsm": "70"}, []),
    ("PN-PL-JT05", "百樂 Juice 極細鋼珠筆 0.5", "Pilot Juice Gel Pen 0.5", "PEN", "Pilot", "pcs", 35,
     {"tip": "0.5"}, [("BK", {"ink_colour": "黑"}, None), ("BL", {"ink_colour": "藍"}, None), ("RD", {"ink_colour": "紅"}, None)]),
    ("PN-PL-FX07", "百樂 FriXion 擦擦筆 0.7", "Pilot FriXion Ball 0.7", "PEN", "Pilot", "pcs", 60,
     {"tip": "0.7"}, [("BK", {"ink_colour": "黑"}, None), ("BL", {"ink_colour": "藍"}, None)]),
    ("PN-ZB-SARA", "斑馬 Sarasa 環保鋼珠筆 0.5", "Zebra Sarasa Clip 0.5", "PEN", "Zebra", "pcs", 30,
     {"tip": "0.5"}, [("BK", {"ink_colour": "黑"}, None), ("GR", {"ink_colour": "綠"}, None)]),
    ("TE-TR-ALS", "天仁 阿里山高山茶", "Ten Ren Alishan High Mountain Tea", "TEA", "Ten Ren", "can", 1200,
     {"net_weight": "150", "shelf_life": "730", "origin": "阿里山", "fermentation": "輕發酵"}, []),
    ("TE-TR-DD", "天仁 凍頂烏龍茶", "Ten Ren Dongding Oolong", "TEA", "Ten Ren", "can", 800,
     {"net_weight": "150", "shelf_life": "730", "origin": "凍頂", "fermentation": "半發酵"}, []),
    ("TE-WD-LS", "王德傳 梨山茶", "Wang De Chuan Lishan Tea", "TEA", "Wang De Chuan", "can", 1800,
     {"net_weight": "75", "shelf_life": "540", "origin": "梨山", "fermentation": "輕發酵"}, []),
    ("TE-WD-RR", "王德傳 日月潭紅玉紅茶", "Wang De Chuan Sun Moon Lake Ruby Black Tea", "TEA", "Wang De Chuan", "can", 900,
     {"net_weight": "75", "shelf_life": "730", "origin": "日月潭", "fermentation": "全發酵"}, []),
    ("TE-TR-BZ", "天仁 文山包種茶", "Ten Ren Wenshan Baozhong", "TEA", "Ten Ren", "can", 600,
     {"net_weight": "150", "shelf_life": "540", "origin": "文山", "fermentation": "輕發酵"}, []),
    ("CF-LS-HOUSE", "路易莎 招牌綜合咖啡豆", "Louisa House Blend Beans", "COFFEE", "Louisa", "pack", 450,
     {"net_weight": "454", "shelf_life": "365", "roast": "中焙", "ground": False}, []),
    ("CF-LS-ESP", "路易莎 義式深焙咖啡粉", "Louisa Espresso Dark Roast Ground", "COFFEE", "Louisa", "pack", 380,
     {"net_weight": "227", "shelf_life": "180", "roast": "深焙", "ground": True}, []),
    ("CF-LS-ETH", "路易莎 衣索比亞淺焙豆", "Louisa Ethiopia Light Roast Beans", "COFFEE", "Louisa", "pack", 520,
     {"net_weight": "227", "shelf_life": "365", "roast": "淺焙", "ground": False}, []),
]
WEIGHTS = {"SMART": "0.19", "FEAT": "0.09", "LAPTOP": "1.4", "DESKTOP": "5.5", "CHARGER": "0.1", "AUDIO": "0.25", "PAPER": "2.3", "PEN": "0.01", "TEA": "0.25", "COFFEE": "0.5"}
PRODUCT_CONVERSIONS = [
    # product, from, factor, to: a product's own conversion (overriding "1 箱 = 12 個" for chargers)
    ("CH-BS65", "box", "50", "pcs"),
    ("PP-DA-A4-70", "box", "5", "ream"),
    ("PP-DA-A4-80", "box", "5", "ream"),
    ("TE-TR-ALS", "box", "24", "can"),
    ("CF-LS-HOUSE", "box", "20", "pack"),
]
PICTURES = {"SMART": (37, 99, 235), "LAPTOP": (71, 85, 105), "AUDIO": (219, 39, 119), "TEA": (22, 163, 74), "COFFEE": (120, 53, 15), "PAPER": (234, 179, 8)}


def _barcode(serial):
    body = f"471{4000000 + serial * 37:09d}"
    return body + gtin_check_digit(body)


def _picture(colour, seed):
    """A plain product picture (a shape on a tint), made here so the demo ships no files."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (480, 480), tuple(min(255, c + 200) if c < 55 else min(255, c // 4 + 190) for c in colour))
    draw = ImageDraw.Draw(image)
    width, height = rng.randint(180, 260), rng.randint(220, 340)
    left, top = (480 - width) // 2, (480 - height) // 2
    draw.rounded_rectangle((left, top, left + width, top + height), radius=rng.randint(12, 40), fill=colour)
    draw.ellipse((240 - 24, top + height - 70, 240 + 24, top + height - 22), fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return SimpleUploadedFile(f"demo-{seed}.png", buffer.getvalue(), content_type="image/png")


def _save(record):
    """As the resource's form and hooks save a record: checked (clean), keyed, indexed."""
    record.full_clean()
    if isinstance(record, Product):
        services.prepare_product(product=record)
        record.save()
        services.index_attributes(products=[record])
    else:
        services.prepare_variant(variant=record)
        record.save()
        services.index_attributes(variants=[record])
    return record


def load_demo():
    from qinglan.org.models import Currency, Role, RolePermission, User

    twd = Currency.objects.filter(code="TWD").first()
    admin = User.objects.filter(username="admin").first()
    manager = User.objects.filter(username="manager").first()
    categories = {}
    for code, (name, parent, description) in CATEGORIES.items():
        category = Category(name=name, code=code, description=description)
        category.new_parent = categories.get(parent)
        category.save()
        categories[code] = category
    for category in categories.values():
        category.refresh_from_db()  # adding a sibling (they sort by name) moved some paths
    for order, (category, code, name, kind, unit, options, required, for_variants) in enumerate(ATTRIBUTES, start=1):
        attribute = Attribute(
            category=categories[category], code=code, name=name, type=kind, unit=unit, options=options, required=required,
            for_variants=for_variants, order=order * 10,
        )
        attribute.full_clean()
        services.check_attribute(attribute=attribute)
        attribute.save()
    brands = {latin: Brand.objects.create(name=name, name_latin=latin if latin != name else "") for name, latin in BRANDS}
    units = {code: Unit.objects.create(code=code, name=name, description=description) for code, name, description in UNITS}
    for from_code, factor, to_code in SHARED_CONVERSIONS:
        conversion = UnitConversion(from_unit=units[from_code], factor=Decimal(factor), to_unit=units[to_code])
        conversion.full_clean()
        conversion.save()
    rng = random.Random(2026)
    products = {}
    for serial, (code, name, latin, category, brand, unit, price, attributes, variants) in enumerate(PRODUCTS, start=1):
        price = Decimal(price)
        product = _save(
            Product(
                code=code, name=name, name_latin=latin, category=categories[category], brand=brands[brand], base_unit=units[unit],
                status="discontinued" if code in ("PH-NK105", "NB-MBA13") and serial % 2 else "active",
                barcode=_barcode(serial) if not variants else None, list_price=price, price_currency=twd,
                cost=(price * Decimal(rng.choice(["0.62", "0.68", "0.72", "0.75"]))).quantize(Decimal("1")), cost_currency=twd,
                weight=Decimal(WEIGHTS[category]), attributes=attributes,
                owner=manager if categories[category].path.startswith(categories["ELEC"].path) else admin,
                description=f"{name}（{latin}）。{categories[category].name}類商品，示範資料。",
            )
        )
        products[code] = product
        for number, (suffix, values, variant_price) in enumerate(variants, start=1):
            _save(
                ProductVariant(
                    product=product, code=f"{code}-{suffix}", barcode=_barcode(serial * 100 + number), attributes=values,
                    list_price=Decimal(variant_price) if variant_price else None,
                )
            )
        if category in PICTURES and admin is not None:
            image = ProductImage(product=product, caption=name, order=10, uploaded_by=admin)
            upload = _picture(PICTURES[category], serial)
            image.image.save(upload.name, upload, save=False)
            image.save()
    for product_code, from_code, factor, to_code in PRODUCT_CONVERSIONS:
        conversion = UnitConversion(product=products[product_code], from_unit=units[from_code], factor=Decimal(factor), to_unit=units[to_code])
        conversion.full_clean()
        conversion.save()

    catalogue = [Product, ProductVariant, Category, Attribute, Brand, Unit, UnitConversion]
    grants = {"業務員": ["view", "export"], "業務主管": ["view", "add", "change", "export", "import"]}
    for role in Role.objects.filter(name__in=grants):
        for model in catalogue:
            RolePermission.objects.update_or_create(
                role=role, content_type=ContentType.objects.get_for_model(model), defaults={"actions": grants[role.name], "scope": Scope.ALL},
            )
    from qinglan.search.index import rebuild
    from qinglan.core.registry import registry

    for model in (Product, ProductVariant, Category):  # the search app's demo step ran before this app's
        rebuild(registry.get(model))
