"""Texts of the service guide (办事指南), its one-time notice and the forms the kiosk prints."""
from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "where_to_go": ("办理地点（就近办）", "Where to go (nearest first)"),
    "this_kiosk_can": ("本机可以办：在这台机器上刷身份证就能提交（24小时开放）",
                       "This kiosk can do it: swipe your ID card here and submit (open 24 hours)."),
    "this_kiosk_cannot": ("这台自助终端不能提交这个事项。请到下面最近的地点办理：",
                          "This kiosk cannot take this application. Please go to the nearest place below:"),
    "place_nearest": ("（最近）", " (nearest)"),
    "place_lines": ("{name}{nearest}\n地址：{address}\n开放时间：{hours}\n电话：{phone}",
                    "{name}{nearest}\nAddress: {address}\nOpen: {hours}\nPhone: {phone}"),
    "no_place": ("请拨打 {hotline} 咨询办理地点。", "Please call {hotline} to ask where to go."),
    "chinese_only": ("本内容只有中文", "This content is only available in Chinese"),
    "chinese_only_short": ("仅中文", "Chinese only"),
    "print_blank_form": ("打印空白表格", "Print blank form"),
    "print_filled_form": ("打印填好的表格", "Print filled-in form"),
    "form_here": ("本机可打印这份表格", "This kiosk prints this form"),
    "form_needs_card": ("请先在读卡区放好身份证，再点「打印填好的表格」。",
                        "Place your ID card on the reader first, then touch Print filled-in form again."),
    "form_printing": ("正在打印表格，请稍候……", "Printing the form, please wait…"),
    "form_printed_title": ("表格已打印", "Form printed"),
    "form_printed": ("请在A4出纸口取走表格。核对内容后签字，和其他材料一起提交。",
                     "Take the form from the A4 tray. Check it, sign it and hand it in with your other materials."),
    "form_unavailable": ("这台自助终端暂时不能打印这份表格，请到窗口领取，或拨打 {hotline} 咨询。",
                         "This kiosk cannot print this form right now. Ask at the counter or call {hotline}."),
    "form_failed": ("表格没有打印出来：{reason}\n请到窗口领取表格，或拨打 {hotline} 咨询。",
                    "The form was not printed: {reason}\nAsk at the counter for the form, or call {hotline}."),
    "notice_this_kiosk_can": ("本机可办：可在这台自助终端刷身份证提交申请（全天24小时）。",
                              "This kiosk can do it: swipe your ID card at this kiosk and submit (24 hours)."),
    "notice_this_kiosk_cannot": ("本机不能提交本事项，请到以下地点办理。",
                                 "This kiosk cannot take this application; go to a place below."),
}

# The catalogue's categories (a fixed list the platform validates) and the keyboard's quick words,
# in English. A category the kiosk does not know is shown as the platform sent it.
CATEGORIES_EN: dict[str, str] = {
    "社会保障": "Social security", "医疗保障": "Medical insurance", "社会救助": "Social assistance",
    "残疾人服务": "Disability services", "养老服务": "Elderly care", "退役军人": "Veterans",
    "卫生健康": "Health", "农业农村": "Farming and villages", "自然资源": "Land and resources",
    "住房保障": "Housing", "就业创业": "Jobs and business", "户籍证明": "Household registration",
    "司法服务": "Legal services", "民政婚姻": "Civil affairs and marriage", "公用事业": "Utilities",
}
QUICK_WORDS_EN: dict[str, str] = {
    "社保": "Social ins.", "医保": "Medical ins.", "养老": "Pension", "低保": "Allowance",
    "残疾": "Disability", "退役": "Veterans", "生育": "Birth", "宅基地": "Homestead", "补贴": "Subsidies",
    "证明": "Certificates",
}


def category_label(category: str, lang: str) -> str:
    return CATEGORIES_EN.get(category, category) if lang == "en" else category


def quick_word_label(word: str, lang: str) -> str:
    return QUICK_WORDS_EN.get(word, word) if lang == "en" else word


# The keyboard's quick-word keys type the Chinese word (the search runs on Chinese); their labels
# and the search box show it in the citizen's language.
STRINGS.update({f"quick_word:{word}": (word, label) for word, label in QUICK_WORDS_EN.items()})
