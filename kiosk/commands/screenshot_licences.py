"""``kiosk screenshot --screen submit-licences | submit-phone | submit-contact``: the submission
checklist of the demo's elderly citizen, two of whose materials the platform holds as electronic
licences (材料免提交), the 手机继续办 step of a submission left unfinished, and the contact step (the
phone on its keypad, how the result comes back).

Shown through the submit screen's view interface with the demo platform's content, so the picture
renders at once, without a card on the reader or a round trip to the platform.
"""
from __future__ import annotations

from typing import Any

SCREENS = ("submit-licences", "submit-phone", "submit-contact")
ITEM = "困难残疾人生活补贴申请"
# (name, kind, licence title and issue date or "", pages photographed)
LINES = (("第二代残疾人证", "original", ("中华人民共和国残疾人证", "2022年10月12日"), 0),
         ("居民身份证", "original", None, 2),
         ("居民户口簿", "original", ("居民户口簿", "2020年10月12日"), 0),
         ("困难残疾人生活补贴申请表", "original", None, 0),
         ("本人社会保障卡或本人名下银行卡", "original", None, 0))


def stage(app: Any, screen: str) -> None:
    """Put the app on the submit screen's checklist (with licences) or its phone step."""
    from kiosk.flows.views import MaterialLineData

    t = lambda key, **values: app.tr(app.lang, key, **values)  # noqa: E731
    view = app.screens["submit"]
    app.show_screen("submit")
    missing = [name for name, _kind, held, pages in LINES if held is None and not pages]
    if screen == "submit-contact":
        view.show_contact(ITEM, "1397", "pickup")
        return
    if screen == "submit-phone":
        text = t("phone_missing", names="、".join(missing)) + "\n" + t("phone_scan")
        view.show_phone(t("phone_title"), text, "http://127.0.0.1:8000/m/Hq3xY0a9VdJk2mP7sT4wZ1bC8eF5gN6r")
        return
    lines = []
    for index, (name, kind, held, pages) in enumerate(LINES):
        if held is not None:
            lines.append(MaterialLineData(index=index, name=name, done=True, licence=True,
                                          detail=t("licence_detail", title=held[0], date=held[1]),
                                          pages_text=t("licence_held")))
        else:
            lines.append(MaterialLineData(index=index, name=name, done=pages > 0,
                                          detail=f"{t(kind)} · {t('required')}",
                                          pages_text=t("pages_taken", n=pages) if pages else t("not_taken")))
    view.show_materials(ITEM, lines, False, t("still_missing", names="、".join(missing)))
    view.show_licence_note(t("licence_found", n=2))
