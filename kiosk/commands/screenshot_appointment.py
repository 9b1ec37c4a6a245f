"""``kiosk screenshot --screen appointment-*``: the booking screen's steps with demo content.

Shown through the screen's view interface with what the demo platform offers (its centre, its
villages, its hours), so each step renders at once, without waiting for the platform.
"""
from __future__ import annotations

from typing import Any

SCREENS = ("appointment-items", "appointment-days", "appointment-times", "appointment-phone",
           "appointment-done", "appointment-pending", "appointment-mine", "appointment-confirm")


# items of the demo catalogue that take bookings (the screenshot does not wait for the catalogue)
DEMO_ITEMS = (("YL-003", "老年人优待证办理", "县民政局（村级便民服务站代办）"),
              ("YL-001", "高龄津贴申领", "县民政局（村级便民服务站代办）"),
              ("SB-003", "城乡居民基本养老保险待遇申领", "县人力资源和社会保障局（乡镇社会保障服务中心受理）"),
              ("SB-007", "社会保障卡申领", "县人力资源和社会保障局（乡镇社会保障服务中心受理，合作银行制卡）"),
              ("CJ-004", "困难残疾人生活补贴申请", "县残疾人联合会（村级便民服务站代办）"),
              ("HJ-001", "居民身份证申领、换领", "县公安局（乡镇派出所户籍窗口）"))


def stage(app: Any, screen: str) -> None:
    """Put the app on the booking screen's step ``screen``."""
    from kiosk.flows.views import AppointmentDone, Row

    t = lambda key, **values: app.tr(app.lang, key, **values)  # noqa: E731
    view = app.screens["appointment"]
    app.show_screen("appointment")
    when = t("appt_day", month=12, day=3, weekday=t("appt_weekday_3")) + " 09:00–10:00"
    if screen == "appointment-items":
        view.show_choices("item", t("appt_choose_item"), [Row(key=k, title=n, detail=d.split("（")[0])
                                                          for k, n, d in DEMO_ITEMS])
    elif screen == "appointment-days":
        rows = []
        for offset, (day, weekday) in enumerate(((2, 2), (3, 3), (4, 4), (5, 5), (7, 0), (8, 1))):
            full = offset == 1
            rows.append(Row(key=f"2026-12-{day:02d}", title=t("appt_day", month=12, day=day, weekday=t(f"appt_weekday_{weekday}")),
                            detail=t("appt_full") if full else t("appt_day_free"), flag=full))
        view.show_choices("day", t("appt_choose_day", item="老年人优待证办理"), rows)
    elif screen == "appointment-times":
        times = (("09:00", "10:00", 2), ("10:00", "11:00", 0), ("15:00", "16:00", 3))
        rows = [Row(key=str(n), title=f"{a}–{b}", detail=t("appt_free_n", n=free) if free else t("appt_full"),
                    flag=not free) for n, (a, b, free) in enumerate(times)]
        view.show_choices("time", t("appt_choose_time", day=t("appt_day", month=12, day=3, weekday=t("appt_weekday_3"))),
                          rows, t("appt_taken"))
    elif screen == "appointment-phone":
        summary = t("appt_summary", item="老年人优待证办理", when=when,
                    place=t("appt_place_window", centre="资源镇政务服务中心"))
        view.show_phone(t("appt_phone_title"), summary, "1391234")
    elif screen in ("appointment-mine", "appointment-confirm"):
        place = t("appt_place_window", centre="资源镇政务服务中心")
        rows = [Row(key="YY0000261201-73920155", title="老年人优待证办理", detail=f"{when}\n{place}"),
                Row(key="YY0000261201-19283746", title="社会保障卡申领",
                    detail=t("appt_day", month=12, day=7, weekday=t("appt_weekday_0")) + f" 15:00–16:00\n{place}")]
        view.show_choices("mine", t("appt_mine_title"), rows)
        if screen == "appointment-confirm":
            view.show_confirm(t("appt_cancel_ask", what=f"老年人优待证办理\n{when}"))
    elif screen in ("appointment-done", "appointment-pending"):
        pending = screen == "appointment-pending"
        view.show_done(AppointmentDone(
            title=t("appt_pending_title" if pending else "appt_booked_title"), when=when,
            place=t("appt_place_home", village="车田苗族乡示例村") if pending else t("appt_place_window", centre="资源镇政务服务中心"),
            number_label=t("appt_pending_number" if pending else "appt_number"),
            number="ZW0001261201-73920155" if pending else "YY0000261201-73920155",
            message=t("appt_pending_body" if pending else "appt_booked_body"),
            qr_text="http://127.0.0.1:8000/m/Hq3xY0a9VdJk2mP7sT4wZ1bC8eF5gN6r", provisional=pending))
