"""预约凭条: the slip printed after booking a time, as data turned into ESC/POS bytes.

Pure like kiosk.receipts: the caller passes the time, the place, the materials and the phone
page's link. A booking queued while the platform was out of reach prints 「预约待确认」 big and
says what happens next; its link (a token the kiosk drew, recorded by the platform when the booking
arrives) shows the outcome on the phone. Personal data is printed
masked (a slip left on the tray must not tell a stranger who booked).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Union

from devices.receipt_printer.layout import Block, Cut, Field, Qr, Row, Rule, Text, render
from devices.receipt_printer.profiles import PrinterProfile
from kiosk.masking import mask_name
from kiosk.receipts import Material, _time, mask_phone


@dataclass(frozen=True)
class AppointmentSlip:
    number: str                 # the booking number, or the kiosk's provisional number
    item_name: str
    kind: str                   # 窗口办理 / 延时办理 / 上门办理
    when: str                   # 2026年12月2日 星期三 09:00–10:00
    place: str
    printed_at: Union[datetime, str]
    materials: tuple[Material, ...] = ()
    provisional: bool = False
    link: str = ""              # the phone page (a random token; the kiosk draws it when provisional)
    holder: str = ""            # printed masked
    phone: str = ""             # printed masked
    centre_name: str = ""
    enquiry_phone: str = ""


def slip_blocks(s: AppointmentSlip) -> list[Block]:
    blocks: list[Block] = [Text("预约凭条", align="center", bold=True, size=2)]
    if s.centre_name:
        blocks.append(Text(s.centre_name, align="center"))
    blocks.append(Rule())
    if s.provisional:
        blocks.append(Text("预约待确认", align="center", bold=True, size=2))
        blocks.append(Text("网络恢复后自动提交。确认前还不算约好；如该时段已满，工作人员会电话联系您。"))
        blocks.append(Rule())
    blocks.append(Field("待确认编号" if s.provisional else "预约编号", s.number, bold_value=True))
    blocks.append(Field("办理事项", s.item_name))
    blocks.append(Field("办理方式", s.kind))
    blocks.append(Field("预约时间", s.when, bold_value=True))
    blocks.append(Field("地点", s.place, bold_value=True))
    if s.holder:
        blocks.append(Field("预约人", mask_name(s.holder)))
    if s.phone:
        blocks.append(Field("联系电话", mask_phone(s.phone)))
    blocks.append(Text(f"【请带齐以下材料（共{len(s.materials)}项）】" if s.materials else "【无需携带材料】", bold=True))
    for i, m in enumerate(s.materials, 1):
        name = m.name + ("" if m.required else "（如有）") + (f"（{m.note}）" if m.note else "")
        blocks.append(Row(name, m.amount, marker=f"{i}. "))
    blocks.append(Rule())
    if s.link:
        blocks.append(Qr(s.link, caption="扫码在手机上查看预约结果" if s.provisional else "扫码在手机上查看、改约或取消"))
    if s.enquiry_phone:
        blocks.append(Field("咨询电话", s.enquiry_phone))
    blocks.append(Field("打印时间", _time(s.printed_at)))
    blocks.append(Text("请按时到达；不能来请提前取消，把时段让给别人。", align="center"))
    blocks.append(Cut())
    return blocks


def build_slip(slip: AppointmentSlip, profile: PrinterProfile) -> bytes:
    """The ESC/POS job for ``slip`` on a printer with ``profile``."""
    return render(slip_blocks(slip), profile)
