"""What the kiosk prints on the receipt printer, as data: each receipt is a dataclass (or a plain dict)
turned into layout blocks, then into ESC/POS bytes for a printer profile.

Pure: no clock, no configuration, no I/O -- the caller passes the time and the URLs, and the same
data always gives the same bytes (tests/golden/printer/ pins them). Personal data is printed
masked (``张*``, ``138****1234``): a receipt left on the tray must not tell a stranger who it is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any, Union

from devices.receipt_printer.layout import Block, Cut, Field, Qr, Row, Rule, Text, render
from devices.receipt_printer.profiles import PrinterProfile
from kiosk.masking import mask_name

FORMS = {"original": "原件", "copy": "复印件", "both": "原件及复印件",
         "原件": "原件", "复印件": "复印件", "原件及复印件": "原件及复印件", "electronic": "电子件", "电子件": "电子件",
         "licence": "电子证照", "电子证照": "电子证照"}  # 电子证照: the platform holds it, nothing handed in
DELIVERY = {"window": "窗口领取", "post": "快递邮寄", "courier": "快递寄到家", "express": "快递邮寄", "online": "网上送达",
            "self": "自助终端打印"}
SERVICE_KINDS = {"door": "上门办", "proxy": "帮代办", "上门办": "上门办", "帮代办": "帮代办"}


def mask_phone(phone: str) -> str:
    """``13812341234`` → ``138****1234``; anything shorter keeps only its last 4 digits."""
    digits = "".join(c for c in (phone or "") if c.isdigit() or c == "-")
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    return "*" * max(0, len(digits) - 4) + digits[-4:]


def _time(value: Union[datetime, date, str, None]) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value)


@dataclass(frozen=True)
class Material:
    name: str
    form: str = "原件"  # 原件 / 复印件 / 原件及复印件 (or original / copy / both)
    count: int = 1
    required: bool = True
    note: str = ""

    @classmethod
    def from_dict(cls, d: dict | "Material") -> "Material":
        if isinstance(d, Material):
            return d
        form = d.get("form", d.get("kind", "原件"))
        if "original" in d or "copy" in d:  # catalogue style: two booleans
            form = "both" if d.get("original") and d.get("copy") else "copy" if d.get("copy") else "original"
        return cls(name=str(d["name"]), form=str(form), count=int(d.get("count", 1)),
                   required=bool(d.get("required", True)), note=str(d.get("note", "") or ""))

    @property
    def form_zh(self) -> str:
        return FORMS.get(self.form, self.form)

    @property
    def amount(self) -> str:
        if self.form_zh == "电子证照":
            return "电子证照"
        return f"{self.form_zh} {self.count}份"


@dataclass(frozen=True)
class Fee:
    name: str
    amount: str  # yuan, as written ("10.00"); printed as "10.00元" (no ¥: many printer fonts lack it);
    # empty when the guide states the fee only in words (then ``name`` is printed as it stands)
    basis: str = ""

    @classmethod
    def from_dict(cls, d: dict | "Fee") -> "Fee":
        if isinstance(d, Fee):
            return d
        amount = d.get("amount", d.get("yuan", "0"))
        if isinstance(amount, (int, float)):
            amount = f"{amount:.2f}"
        return cls(name=str(d["name"]), amount=str(amount), basis=str(d.get("basis", "") or ""))


def _from_dict(cls, data: dict):
    """Build a receipt dataclass from a plain dict: unknown keys are an error, lists become tuples."""
    if isinstance(data, cls):
        return data
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown field(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "materials":
            value = tuple(Material.from_dict(m) for m in value)
        elif key == "fees":
            value = tuple(Fee.from_dict(f) for f in value)
        elif key == "places":
            value = tuple(p if isinstance(p, NoticePlace) else NoticePlace(**p) for p in value)
        elif isinstance(value, list):
            value = tuple(value)
        values[key] = value
    return cls(**values)


@dataclass(frozen=True)
class SubmissionReceipt:
    """受理回执: what the citizen takes home after submitting materials at the kiosk."""

    receipt_no: str
    item_name: str
    submitted_at: Union[datetime, str]
    lookup_url: str  # kiosk.qr_content.receipt_qr_text(receipt_no, base_url); also shown on screen
    materials: tuple[Material, ...] = ()
    delivery: str = "window"
    applicant: str = ""  # printed masked
    centre_name: str = ""
    department: str = ""
    time_limit_days: int | None = None
    kiosk_id: str = ""
    lang: str = "zh"  # en: printed in English (the citizen's language)
    delivery_address: str = ""  # courier: down to the village, the house hidden
    pickup_time: str = ""       # courier: when the originals are collected

    from_dict = classmethod(_from_dict)


@dataclass(frozen=True)
class NoticePlace:
    """One place where the item is done (就近办), as printed on the notice."""

    name: str
    address: str
    hours: str
    phone: str = ""


@dataclass(frozen=True)
class OneTimeNotice:
    """一次性告知单: everything an item needs, so nobody comes back twice."""

    item_name: str
    printed_at: Union[datetime, str]
    materials: tuple[Material, ...] = ()
    conditions: tuple[str, ...] = ()
    department: str = ""
    time_limit_days: int | None = None
    legal_time_limit_days: int | None = None
    fees: tuple[Fee, ...] = ()
    enquiry_phone: str = ""
    supervision_phone: str = ""
    centre_name: str = ""
    guide_url: str = ""  # optional QR to the online guide
    steps: tuple[str, ...] = ()
    places: tuple["NoticePlace", ...] = ()  # where to go, nearest first
    this_kiosk: str = ""  # whether this kiosk can take the item, in a sentence
    content_note: str = ""  # e.g. "This content is only available in Chinese", under the item's name
    lang: str = "zh"  # en: printed in English (the citizen's language)

    from_dict = classmethod(_from_dict)


@dataclass(frozen=True)
class CertificateSlip:
    """证明打印凭条: printed after a certificate came out of the document printer."""

    certificate_name: str
    verification_code: str
    printed_at: Union[datetime, str]
    pages: int = 1
    copies: int = 1
    certificate_no: str = ""
    holder: str = ""  # printed masked
    verify_url: str = ""
    centre_name: str = ""
    kiosk_id: str = ""
    lang: str = "zh"  # en: printed in English (the citizen's language)

    from_dict = classmethod(_from_dict)


@dataclass(frozen=True)
class RequestReceipt:
    """服务申请回执 for a door-to-door (上门办) or proxy (帮代办) request."""

    request_no: str
    kind: str  # door / proxy (or 上门办 / 帮代办)
    submitted_at: Union[datetime, str]
    item_name: str = ""
    contact_phone: str = ""  # printed masked
    preferred_time: str = ""
    lookup_url: str = ""
    centre_name: str = ""
    contact_within: str = "1个工作日"
    lang: str = "zh"  # en: printed in English (the citizen's language)

    from_dict = classmethod(_from_dict)


@dataclass(frozen=True)
class ContinueSlip:
    """手机继续办: a submission left unfinished -- what is still missing, and a QR code to the same
    list and the item's notice on the phone (a random link that expires; none when offline)."""

    item_name: str
    printed_at: Union[datetime, str]
    missing: tuple[str, ...] = ()
    from_licences: tuple[str, ...] = ()  # materials the platform holds (电子证照), with the licence's name
    mobile_url: str = ""
    centre_name: str = ""
    kiosk_id: str = ""
    lang: str = "zh"  # en: printed in English (the citizen's language)

    from_dict = classmethod(_from_dict)


@dataclass(frozen=True)
class PaymentReceipt:
    """缴费凭条: printed once a payment by phone arrived (the order number is what staff look up)."""

    order_no: str
    item_name: str
    amount: str  # in yuan, like 40.00
    paid_at: Union[datetime, str]  # in the kiosk's zone
    receipt_no: str = ""  # the application the fee is for
    centre_name: str = ""
    kiosk_id: str = ""
    phone_url: str = ""   # the application's page on the phone (a random token; never an ID number)

    from_dict = classmethod(_from_dict)


@dataclass(frozen=True)
class TestPage:
    """打印测试: checks columns, Chinese text, QR and the cutter on the technician's request."""

    kiosk_id: str
    printed_at: Union[datetime, str]
    qr_data: str = ""

    from_dict = classmethod(_from_dict)


Receipt = Union[SubmissionReceipt, OneTimeNotice, CertificateSlip, RequestReceipt, ContinueSlip, TestPage,
                PaymentReceipt]


def _title(title: str, centre: str) -> list[Block]:
    blocks: list[Block] = [Text(title, align="center", bold=True, size=2)]
    if centre:
        blocks.append(Text(centre, align="center"))
    blocks.append(Rule())
    return blocks


def _materials(materials: tuple[Material, ...]) -> list[Block]:
    rows: list[Block] = []
    for i, m in enumerate(materials, 1):
        name = m.name + ("" if m.required else "（如有）") + (f"（{m.note}）" if m.note else "")
        rows.append(Row(name, m.amount, marker=f"{i}. "))
    return rows


def submission_blocks(r: SubmissionReceipt) -> list[Block]:
    blocks = _title("受理回执", r.centre_name)
    blocks.append(Field("回执编号", r.receipt_no, bold_value=True))
    blocks.append(Field("办理事项", r.item_name))
    if r.department:
        blocks.append(Field("受理部门", r.department))
    if r.applicant:
        blocks.append(Field("申请人", mask_name(r.applicant)))
    blocks.append(Field("提交时间", _time(r.submitted_at)))
    blocks.append(Field("领取方式", DELIVERY.get(r.delivery, r.delivery)))
    if r.delivery_address:
        blocks.append(Field("寄送地址", r.delivery_address))
    if r.pickup_time:
        blocks.append(Field("上门取件", r.pickup_time))
    if r.time_limit_days:
        blocks.append(Field("承诺时限", f"{r.time_limit_days}个工作日"))
    if r.materials:
        blocks.append(Text(f"已收材料（共{len(r.materials)}项）：", bold=True))
        blocks.extend(_materials(r.materials))
    blocks.append(Rule())
    blocks.append(Qr(r.lookup_url, caption="扫码查询办理进度"))
    blocks.append(Text("请妥善保管本回执，凭回执编号可查询办理进度。", align="center"))
    if r.kiosk_id:
        blocks.append(Text(f"终端 {r.kiosk_id}", align="center"))
    blocks.append(Cut())
    return blocks


def notice_blocks(n: OneTimeNotice) -> list[Block]:
    blocks = _title("一次性告知单", n.centre_name)
    blocks.append(Field("办理事项", n.item_name, bold_value=True))
    if n.content_note:
        blocks.append(Text(n.content_note, bold=True))
    if n.department:
        blocks.append(Field("实施部门", n.department))
    if n.conditions:
        blocks.append(Text("【申请条件】", bold=True))
        blocks.extend(Row(c, marker=f"{i}. ") for i, c in enumerate(n.conditions, 1))
    blocks.append(Text("【申请材料】", bold=True))
    blocks.extend(_materials(n.materials) or [Text("无需提交材料")])
    if n.steps:
        blocks.append(Text("【办理流程】", bold=True))
        blocks.extend(Row(step, marker=f"{i}. ") for i, step in enumerate(n.steps, 1))
    if n.places or n.this_kiosk:
        blocks.append(Text("【办理地点】", bold=True))
        if n.this_kiosk:
            blocks.append(Text(n.this_kiosk))
        for i, place in enumerate(n.places, 1):
            blocks.append(Row(place.name + ("（最近）" if i == 1 else ""), marker=f"{i}. "))
            blocks.append(Field("地址", place.address))
            blocks.append(Field("开放时间", place.hours))
            if place.phone:
                blocks.append(Field("电话", place.phone))
    blocks.append(Text("【办理时限】", bold=True))
    if n.legal_time_limit_days:
        blocks.append(Field("法定时限", f"{n.legal_time_limit_days}个工作日"))
    blocks.append(Field("承诺时限", f"{n.time_limit_days}个工作日" if n.time_limit_days else "即时办结"))
    blocks.append(Text("【收费标准】", bold=True))
    if n.fees:
        for fee in n.fees:
            blocks.append(Row(fee.name, f"{fee.amount}元") if fee.amount else Text(fee.name))
            if fee.basis:
                blocks.append(Field("依据", fee.basis))
    else:
        blocks.append(Text("不收费"))
    if n.enquiry_phone or n.supervision_phone:
        blocks.append(Text("【联系电话】", bold=True))
        if n.enquiry_phone:
            blocks.append(Field("咨询电话", n.enquiry_phone))
        if n.supervision_phone:
            blocks.append(Field("监督电话", n.supervision_phone))
    blocks.append(Rule())
    blocks.append(Text("本单一次性告知办理本事项所需的全部条件和材料。材料齐全、符合法定形式的，当场受理。"))
    blocks.append(Field("打印时间", _time(n.printed_at)))
    if n.guide_url:
        blocks.append(Qr(n.guide_url, caption="手机扫码查看本告知单（7天内有效）"))
    blocks.append(Cut())
    return blocks


def certificate_blocks(c: CertificateSlip) -> list[Block]:
    blocks = _title("证明打印凭条", c.centre_name)
    blocks.append(Field("证明名称", c.certificate_name, bold_value=True))
    if c.certificate_no:
        blocks.append(Field("证明编号", c.certificate_no))
    if c.holder:
        blocks.append(Field("持证人", mask_name(c.holder)))
    blocks.append(Field("验证码", c.verification_code, bold_value=True))
    blocks.append(Field("打印份数", f"{c.copies}份，每份{c.pages}页"))
    blocks.append(Field("打印时间", _time(c.printed_at)))
    if c.kiosk_id:
        blocks.append(Field("终端编号", c.kiosk_id))
    if c.verify_url:
        blocks.append(Qr(c.verify_url, caption="扫码核验证明真伪"))
    blocks.append(Text("请取走证明和本凭条。可凭验证码在线核验证明。", align="center"))
    blocks.append(Cut())
    return blocks


def request_blocks(r: RequestReceipt) -> list[Block]:
    blocks = _title("服务申请回执", r.centre_name)
    blocks.append(Field("申请编号", r.request_no, bold_value=True))
    blocks.append(Field("服务类型", SERVICE_KINDS.get(r.kind, r.kind)))
    if r.item_name:
        blocks.append(Field("办理事项", r.item_name))
    if r.contact_phone:
        blocks.append(Field("联系电话", mask_phone(r.contact_phone)))
    if r.preferred_time:
        blocks.append(Field("预约时间", r.preferred_time))
    blocks.append(Field("提交时间", _time(r.submitted_at)))
    blocks.append(Text(f"工作人员将在{r.contact_within}内与您电话联系，请保持电话畅通。"))
    if r.lookup_url:
        blocks.append(Qr(r.lookup_url, caption="扫码查询申请进度"))
    blocks.append(Cut())
    return blocks


def continue_blocks(c: ContinueSlip) -> list[Block]:
    blocks = _title("补交材料提示", c.centre_name)
    blocks.append(Field("办理事项", c.item_name, bold_value=True))
    blocks.append(Text(f"还需要补交的材料（共{len(c.missing)}项）：", bold=True))
    blocks.extend(Row(name, marker=f"{i}. ") for i, name in enumerate(c.missing, 1))
    if c.from_licences:
        blocks.append(Text("已有电子证照，无需提交：", bold=True))
        blocks.extend(Row(name, "电子证照", marker=f"{i}. ") for i, name in enumerate(c.from_licences, 1))
    blocks.append(Rule())
    if c.mobile_url:
        blocks.append(Qr(c.mobile_url, caption="用手机扫码，查看还缺的材料和办事指南"))
        blocks.append(Text("链接7天内有效。", align="center"))
    else:
        blocks.append(Text("网络暂时不通，未能生成手机链接；可在任一自助终端打印一次性告知单。", align="center"))
    blocks.append(Text("材料备齐后，请带上身份证到自助终端或便民服务窗口提交。", align="center"))
    blocks.append(Field("打印时间", _time(c.printed_at)))
    if c.kiosk_id:
        blocks.append(Text(f"终端 {c.kiosk_id}", align="center"))
    blocks.append(Cut())
    return blocks


def payment_blocks(r: PaymentReceipt) -> list[Block]:
    blocks = _title("缴费凭条", r.centre_name)
    blocks.append(Field("订单编号", r.order_no, bold_value=True))
    blocks.append(Field("缴费事项", r.item_name))
    blocks.append(Text(f"金额：{r.amount}元", bold=True, size=2))
    if r.receipt_no:
        blocks.append(Field("回执编号", r.receipt_no))
    blocks.append(Field("支付方式", "手机扫码支付"))
    blocks.append(Field("支付时间", _time(r.paid_at)))
    if r.kiosk_id:
        blocks.append(Field("终端编号", r.kiosk_id))
    blocks.append(Text("已支付成功，请妥善保管本凭条。重复支付的款项将原路退回。", align="center"))
    if r.phone_url:
        blocks.append(Qr(r.phone_url, caption="扫码查询办理进度"))
    blocks.append(Cut())
    return blocks


def test_page_blocks(t: TestPage, profile: PrinterProfile) -> list[Block]:
    ruler = "".join(str(i % 10) for i in range(1, profile.columns + 1))
    font = "GBK" if profile.font_charset == "gbk" else "GB18030"
    return [
        Text("打印测试", align="center", bold=True, size=2),
        Rule("="),
        Field("终端编号", t.kiosk_id, bold_value=True),
        Field("打印时间", _time(t.printed_at)),
        Field("打印机", f"{profile.name}，{profile.dots}点，{profile.columns}列"),
        Field("编码", f"{profile.encoding.upper()}（{font}字库），二维码{'指令' if profile.qr == 'native' else '图像'}"),
        Text("中文：政务服务自助终端 一次办好 就近办"),
        Text("ASCII: 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        Text(ruler),
        Text("倍宽倍高", size=2),
        Rule("="),
        Qr(t.qr_data or f"KIOSK-TEST {t.kiosk_id} {_time(t.printed_at)}", caption="扫码核对终端信息"),
        Cut(),
    ]


def blocks_for(receipt: Receipt, profile: PrinterProfile) -> list[Block]:
    blocks = _blocks_zh(receipt, profile)
    return english_blocks(blocks) if getattr(receipt, "lang", "zh") == "en" else blocks


def _blocks_zh(receipt: Receipt, profile: PrinterProfile) -> list[Block]:
    if isinstance(receipt, SubmissionReceipt):
        return submission_blocks(receipt)
    if isinstance(receipt, OneTimeNotice):
        return notice_blocks(receipt)
    if isinstance(receipt, CertificateSlip):
        return certificate_blocks(receipt)
    if isinstance(receipt, RequestReceipt):
        return request_blocks(receipt)
    if isinstance(receipt, ContinueSlip):
        return continue_blocks(receipt)
    if isinstance(receipt, TestPage):
        return test_page_blocks(receipt, profile)
    if isinstance(receipt, PaymentReceipt):
        return payment_blocks(receipt)
    raise TypeError(f"not a receipt: {type(receipt).__name__}")


# -- English slips ------------------------------------------------------------------------------
# A slip is laid out once, in Chinese; for a citizen using the kiosk in English its fixed words are
# put in English here, block by block. What the data says (an item's name, an address) is printed
# as the caller gave it: the flows pass English data where the platform has it.
EN_WORDS = {
    "受理回执": "RECEIPT", "一次性告知单": "WHAT YOU NEED", "证明打印凭条": "CERTIFICATE SLIP",
    "服务申请回执": "SERVICE REQUEST", "回执编号": "Receipt no.", "办理事项": "Service", "受理部门": "Department",
    "申请人": "Applicant", "提交时间": "Submitted", "领取方式": "Collection", "承诺时限": "Promised within",
    "实施部门": "Department", "法定时限": "Legal time limit", "依据": "Basis", "咨询电话": "Enquiries",
    "监督电话": "Complaints", "打印时间": "Printed", "证明名称": "Certificate", "证明编号": "Certificate no.",
    "持证人": "Holder", "验证码": "Verification code", "打印份数": "Copies", "终端编号": "Kiosk",
    "申请编号": "Request no.", "服务类型": "Service", "联系电话": "Phone", "预约时间": "Preferred time",
    "地址": "Address", "开放时间": "Open", "电话": "Phone", "费用": "Fee",
    "【申请条件】": "[Who can apply]", "【申请材料】": "[What to bring]", "【办理流程】": "[Steps]",
    "【办理地点】": "[Where to go]", "【办理时限】": "[Time limit]", "【收费标准】": "[Fees]",
    "【联系电话】": "[Phones]", "无需提交材料": "Nothing to bring", "即时办结": "Done on the spot",
    "不收费": "Free of charge", "免费": "Free of charge",
    "扫码查询办理进度": "Scan to check progress", "扫码核验证明真伪": "Scan to verify the certificate",
    "扫码查询申请进度": "Scan to check the request", "扫码查看办事指南": "Scan for the service guide",
    "手机扫码查看本告知单（7天内有效）": "Scan to read this notice on your phone (7 days)",
    "请妥善保管本回执，凭回执编号可查询办理进度。": "Keep this receipt: its number lets you check progress.",
    "本单一次性告知办理本事项所需的全部条件和材料。材料齐全、符合法定形式的，当场受理。":
        "This notice tells you everything this service needs, at once. Complete materials are accepted on the spot.",
    "请取走证明和本凭条。可凭验证码在线核验证明。": "Take your certificate and this slip. The code verifies it online.",
    "窗口领取": "Collect at the counter", "快递邮寄": "By post", "网上送达": "Online", "自助终端打印": "Print at a kiosk",
    "上门办": "Home visit", "帮代办": "Proxy help", "原件": "original", "复印件": "copy",
    "原件及复印件": "original and copy", "电子件": "electronic", "（最近）": " (nearest)", "（如有）": " (if any)",
    "补交材料提示": "STILL TO BRING", "已有电子证照，无需提交：": "Held as electronic licences, nothing to bring:",
    "电子证照": "e-licence", "用手机扫码，查看还缺的材料和办事指南": "Scan to see on your phone what is missing",
    "链接7天内有效。": "The link is valid for 7 days.",
    "网络暂时不通，未能生成手机链接；可在任一自助终端打印一次性告知单。":
        "The network was down: no phone link. Any kiosk prints the full notice.",
    "材料备齐后，请带上身份证到自助终端或便民服务窗口提交。":
        "When you have everything, bring your ID card to a kiosk or the service counter.",
}
_EN_PATTERNS = (
    (re.compile(r"^(\d+)个工作日$"), lambda m: f"{m.group(1)} working days"),
    (re.compile(r"^(original|copy|original and copy|electronic|原件|复印件|原件及复印件|电子件) (\d+)份$"),
     lambda m: f"{EN_WORDS.get(m.group(1), m.group(1))} x{m.group(2)}"),
    (re.compile(r"^(\d+)份，每份(\d+)页$"), lambda m: f"{m.group(1)} x {m.group(2)} pages"),
    (re.compile(r"^已收材料（共(\d+)项）：$"), lambda m: f"Materials received ({m.group(1)}):"),
    (re.compile(r"^终端 (.+)$"), lambda m: f"Kiosk {m.group(1)}"),
    (re.compile(r"^还需要补交的材料（共(\d+)项）：$"), lambda m: f"Still to bring ({m.group(1)}):"),
    (re.compile(r"^工作人员将在(.+)内与您电话联系，请保持电话畅通。$"),
     lambda m: f"Staff will phone you within {english(m.group(1))}. Please keep your phone on."),
    (re.compile(r"^(\d+)个工作日内?$"), lambda m: f"{m.group(1)} working day{'s' if m.group(1) != '1' else ''}"),
    (re.compile(r"^(\d+(?:\.\d+)?)元$"), lambda m: f"{m.group(1)} yuan"),
)


def english(text: str) -> str:
    """A slip's fixed Chinese words in English; anything else (data) as it stands."""
    if text in EN_WORDS:
        return EN_WORDS[text]
    for pattern, make in _EN_PATTERNS:
        match = pattern.match(text)
        if match:
            return make(match)
    for suffix in ("（如有）", "（最近）"):
        if text.endswith(suffix):
            return english(text[: -len(suffix)]) + EN_WORDS[suffix]
    return text


_ASCII_PUNCTUATION = str.maketrans({"（": " (", "）": ")", "：": ": ", "，": ", ", "；": "; ", "。": ". "})


def _english_text(text: str) -> str:
    text = english(text)
    for marker in ("（如有）", "（最近）"):
        text = text.replace(marker, EN_WORDS[marker])
    return text.translate(_ASCII_PUNCTUATION).replace("  ", " ").strip()


def english_blocks(blocks: list[Block]) -> list[Block]:
    """The same slip with its fixed words in English (a field reads ``Label: value``)."""
    english = _english_text
    out: list[Block] = []
    for block in blocks:
        if isinstance(block, Text):
            out.append(replace(block, text=english(block.text)))
        elif isinstance(block, Field):
            out.append(Text(f"{english(block.label)}: {english(block.value)}", bold=block.bold_value))
        elif isinstance(block, Row):
            out.append(replace(block, left=english(block.left), right=english(block.right)))
        elif isinstance(block, Qr):
            out.append(replace(block, caption=english(block.caption)))
        else:
            out.append(block)
    return out


def build(receipt: Receipt, profile: PrinterProfile) -> bytes:
    """The ESC/POS job for ``receipt`` on a printer with ``profile``."""
    return render(blocks_for(receipt, profile), profile)


__all__ = [
    "Material", "Fee", "NoticePlace", "SubmissionReceipt", "OneTimeNotice", "CertificateSlip", "RequestReceipt",
    "ContinueSlip", "TestPage",
    "PaymentReceipt", "blocks_for", "build", "mask_name", "mask_phone",
]
