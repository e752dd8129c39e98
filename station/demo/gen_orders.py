#!/usr/bin/env python3
"""Generates station/demo/orders.jsonl: the bundled demo orders (deterministic).

Run from the repository root: python3 station/demo/gen_orders.py > station/demo/orders.jsonl
The first orders are hand-made for the demo replay script (station/demo/replay-demo.jsonl);
the rest cover every status, case packs, serials, multi-line and multi-barcode SKUs.
"""
import json
import random

def check_digit(body):
    s = 0
    for i, d in enumerate(reversed(body)):
        s += int(d) * (3 if i % 2 == 0 else 1)
    return str((10 - s % 10) % 10)

def ean13(body12):
    return body12 + check_digit(body12)

def gtin14(indicator, ean):
    body = indicator + ean[:-1]
    return body + check_digit(body)

# SKU catalogue: sku, name, unit weight g, serial, extra barcodes (code, units)
SKUS = []
def sku(code, name, weight, serial=False, case_units=None, upc=None, internal=None, second_ean=False):
    unit = ean13("690123" + "%06d" % (len(SKUS) * 137 + 1000))
    bcs = [{"code": unit, "units": 1}]
    if second_ean:
        bcs.append({"code": ean13("692" + "%09d" % (len(SKUS) * 7919 + 1)), "units": 1})
    if upc:
        bcs.append({"code": upc, "units": 1})
    if internal:
        bcs.append({"code": internal, "units": 1})
    if case_units:
        bcs.append({"code": gtin14("1", unit), "units": case_units})
    SKUS.append({"sku": code, "name": name, "unit_weight_g": weight, "serial_required": serial, "barcodes": bcs})

sku("TEA-LJ-250", "西湖龙井 250g", 280)
sku("CUP-CER-01", "陶瓷马克杯", 350, second_ean=True)
sku("SOAP-12", "手工皂", 95, case_units=12)
sku("EAR-BT-X1", "蓝牙耳机 X1", 180, serial=True)
sku("PHN-CASE-15", "手机壳 15", 40, internal="WH-000015")
sku("SNK-NUT-500", "每日坚果 500g", 520, case_units=6)
sku("TOY-BLK-100", "积木 100 粒", 640)
sku("SHOE-RUN-42", "跑鞋 42 码", 820)
sku("USB-C-1M", "USB-C 数据线 1m", 45, upc="036000291452")
sku("WATCH-S2", "智能手表 S2", 210, serial=True, second_ean=True)
sku("BOOK-PY", "Python 编程", 610)
sku("SOCK-5P", "棉袜 5 双装", 230, case_units=10)
sku("LAMP-LED", "LED 台灯", 900)
sku("CREAM-50", "面霜 50ml", 150, internal="WH-000050")
sku("RICE-5KG", "东北大米 5kg", 5050)
sku("PEN-GEL-12", "中性笔 12 支", 160, case_units=24)
BY = {s["sku"]: s for s in SKUS}

PLACES = [
    ("广东省", "深圳市", "南山区", "科技园南路 18 号"),
    ("浙江省", "杭州市", "西湖区", "文三路 90 号"),
    ("上海市", "上海市", "浦东新区", "张江路 500 号"),
    ("北京市", "北京市", "朝阳区", "建国路 88 号"),
    ("四川省", "成都市", "武侯区", "天府大道 1 号"),
    ("新疆维吾尔自治区", "乌鲁木齐市", "天山区", "解放北路 2 号"),
    ("西藏自治区", "拉萨市", "城关区", "北京中路 10 号"),
    ("江苏省", "南京市", "鼓楼区", "中山北路 30 号"),
    ("湖北省", "武汉市", "洪山区", "珞喻路 129 号"),
    ("黑龙江省", "哈尔滨市", "南岗区", "西大直街 92 号"),
]
CARRIERS = ["SF", "ZTO", "YTO", "YUNDA", "STO", "JD", "EMS", "JT"]

def waybill(carrier, n):
    return {
        "SF": "SF1%012d" % (n * 7907),
        "ZTO": "7531%010d" % (n * 3571),
        "YTO": "YT8%012d" % (n * 1093),
        "YUNDA": "4312%09d" % (n * 557),
        "STO": "7730%010d" % (n * 443),
        "JD": "JDVA%011d" % (n * 211),
        "EMS": "1180%09d" % (n * 97),
        "JT": "JT5%012d" % (n * 61),
    }[carrier]

def line(code, qty):
    s = dict(BY[code])
    s["qty"] = qty
    return s

def order(n, lines, status="open", carrier=None, place=None, shop="旗舰店"):
    carrier = carrier or CARRIERS[n % len(CARRIERS)]
    p = PLACES[(place if place is not None else n) % len(PLACES)]
    return {
        "order_no": "DEMO%04d" % n,
        "platform_order_nos": ["%019d" % (3000000000000000000 + n * 104729)],
        "waybill_nos": [waybill(carrier, n)],
        "carrier": carrier,
        "status": status,
        "destination": {"province": p[0], "city": p[1], "district": p[2], "address": p[3],
                        "name": "张*", "phone": "138****%04d" % n},
        "shop": shop,
        "lines": lines,
    }

orders = []
# Hand-made orders used by the demo replay and the scenario tests.
orders.append(order(1, [line("TEA-LJ-250", 2), line("CUP-CER-01", 1)], carrier="SF", place=0))
orders.append(order(2, [line("SOAP-12", 12)], carrier="ZTO", place=1))
orders.append(order(3, [line("EAR-BT-X1", 2)], carrier="JD", place=3))
orders.append(order(4, [line("TOY-BLK-100", 1)], status="cancelled", carrier="YTO"))
orders.append(order(5, [line("SHOE-RUN-42", 1)], status="intercepted", carrier="SF"))
orders.append(order(6, [line("BOOK-PY", 1)], status="on_hold", carrier="EMS"))
orders.append(order(7, [line("LAMP-LED", 1)], status="packed", carrier="YUNDA"))
orders.append(order(8, [line("PHN-CASE-15", 3), line("USB-C-1M", 2), line("CREAM-50", 1)], carrier="STO"))
orders.append(order(9, [line("SNK-NUT-500", 7)], carrier="JT", place=5))
orders.append(order(10, [line("WATCH-S2", 1), line("USB-C-1M", 1)], carrier="SF", place=6))
orders.append(order(11, [line("RICE-5KG", 1)], carrier="YUNDA", place=9))
orders.append(order(12, [line("PEN-GEL-12", 24), line("SOCK-5P", 10)], carrier="ZTO"))

rng = random.Random(20261125)
statuses = ["open"] * 30 + ["cancelled", "intercepted", "on_hold", "packed"] * 2
rng.shuffle(statuses)
for i, st in enumerate(statuses):
    n = 13 + i
    k = rng.choice([1, 1, 2, 2, 3, 4])
    codes = rng.sample(sorted(BY), k)
    ls = []
    for c in codes:
        qty = rng.choice([1, 1, 1, 2, 3])
        if BY[c]["barcodes"][-1]["units"] > 1 and rng.random() < 0.5:
            qty = BY[c]["barcodes"][-1]["units"] + rng.choice([0, 1])
        ls.append(line(c, qty))
    orders.append(order(n, ls, status=st, shop=rng.choice(["旗舰店", "拼多多专营店", "抖音小店", "京东自营"])))

# A platform order split into two orders (the open one wins when scanned by platform no).
a = order(60, [line("TEA-LJ-250", 1)], carrier="SF")
b = order(61, [line("CUP-CER-01", 1)], carrier="SF")
b["platform_order_nos"] = a["platform_order_nos"]
orders += [a, b]

for o in orders:
    print(json.dumps(o, ensure_ascii=False, separators=(",", ":")))
