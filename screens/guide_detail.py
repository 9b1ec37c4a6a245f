"""One service item in full: conditions, materials, steps, time limit, fees, basis, phones."""
from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.catalogue import LEVEL_NAMES, LEVEL_NAMES_EN, ServiceItem


class MaterialRow(BoxLayout):
    """One required document: number and name, note, original/copy and count, required or not."""

    number = StringProperty("")
    name = StringProperty("")
    note = StringProperty("")
    kind = StringProperty("")
    count = StringProperty("")
    need = StringProperty("")
    required = BooleanProperty(True)


class GuideDetailScreen(Screen):
    item = ObjectProperty(None, allownone=True)
    title = StringProperty("")
    subtitle = StringProperty("")
    submittable = BooleanProperty(False)

    def on_kv_post(self, base_widget) -> None:
        App.get_running_app().bind(lang=lambda *_: self.show(self.item), fs=lambda *_: self.show(self.item))

    def show(self, item: ServiceItem | None) -> None:
        from kivy.factory import Factory

        self.item = item
        body = self.ids.body
        body.clear_widgets()
        if item is None:
            return
        app = App.get_running_app()
        t = lambda key, **kw: app.tr(app.lang, key, **kw)  # noqa: E731
        levels = LEVEL_NAMES_EN if app.lang == "en" else LEVEL_NAMES
        self.title = item.name
        self.subtitle = f"{t('department')}：{item.department}    {t('level')}：{levels[item.level]}"
        self.submittable = item.kiosk_submittable
        limit = t("instant") if item.time_limit_days == 0 else t("days", n=item.time_limit_days)

        def section(key: str, text: str) -> None:
            body.add_widget(Factory.DetailHeading(text=t(key)))
            body.add_widget(Factory.DetailText(text=text or "—"))

        section("conditions", item.conditions)
        body.add_widget(Factory.DetailHeading(text=t("materials")))
        for number, m in enumerate(item.materials, 1):
            body.add_widget(Factory.MaterialRow(
                number=str(number), name=m.name, note=m.note,
                kind=t(m.kind), count=t("copies", n=m.count),
                need=t("required") if m.required else t("optional"), required=m.required))
        section("steps", "\n".join(f"{i}. {s}" for i, s in enumerate(item.steps, 1)))
        section("time_limit", limit)
        section("fees", item.fees)
        section("fee_basis", item.fee_basis)
        section("legal_basis", item.legal_basis)
        section("phone", item.phone)
        section("supervision_phone", item.supervision_phone)
        self.ids.scroller.scroll_y = 1
