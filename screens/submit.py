"""材料提交: choose the item, see its checklist, capture each material, give a phone number and
how to get the result, review, confirm; then the receipt (number and QR) at once.

The app owns the draft (kiosk.submission.Draft, in the session) and all saving and sending; this
screen shows the step the app puts it in and reports the citizen's choices.
"""
from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen


class MaterialLine(BoxLayout):
    index = ObjectProperty(0)
    name = StringProperty("")
    detail = StringProperty("")
    pages_text = StringProperty("")
    done = BooleanProperty(False)


class ItemChoice(ButtonBehavior, BoxLayout):
    item_id = StringProperty("")
    name = StringProperty("")
    detail = StringProperty("")


class SubmitScreen(Screen):
    step = StringProperty("choose")        # choose | materials | contact | review | done
    title = StringProperty("")
    phone = StringProperty("")
    delivery = StringProperty("pickup")
    can_continue = BooleanProperty(False)
    review_text = StringProperty("")
    receipt_no = StringProperty("")
    done_message = StringProperty("")
    qr_texture = ObjectProperty(None, allownone=True)

    def on_step(self, *args) -> None:
        self.ids.steps.current = self.step

    def show_choices(self, items) -> None:
        from kivy.factory import Factory

        app = App.get_running_app()
        self.step, self.title = "choose", app.tr(app.lang, "submit_choose")
        box = self.ids.choices
        box.clear_widgets()
        for item in items:
            limit = app.tr(app.lang, "instant") if item.time_limit_days == 0 else app.tr(app.lang, "days", n=item.time_limit_days)
            box.add_widget(Factory.ItemChoice(item_id=item.id, name=item.name,
                                              detail=f"{item.department} · {limit}"))

    def show_materials(self, draft) -> None:
        from kivy.factory import Factory

        app = App.get_running_app()
        self.step, self.title = "materials", draft.item.name
        box = self.ids.materials
        box.clear_widgets()
        for index, m in enumerate(draft.item.materials):
            count = draft.count(index)
            need = app.tr(app.lang, "required") if m.required else app.tr(app.lang, "optional")
            box.add_widget(Factory.MaterialLine(
                index=index, name=m.name, done=count > 0,
                detail=f"{app.tr(app.lang, m.kind)} · {need}" + (f" · {m.note}" if m.note else ""),
                pages_text=app.tr(app.lang, "pages_taken", n=count) if count else app.tr(app.lang, "not_taken")))
        missing = draft.missing_required()
        self.can_continue = not missing
        self.ids.missing.text = app.tr(app.lang, "still_missing", names="、".join(missing)) if missing else ""

    def show_contact(self, draft) -> None:
        app = App.get_running_app()
        self.step, self.title = "contact", app.tr(app.lang, "contact_title")
        self.phone, self.delivery = draft.phone, draft.delivery

    def press(self, digit: str) -> None:
        if len(self.phone) < 11:
            self.phone += digit

    def backspace(self) -> None:
        self.phone = self.phone[:-1]

    def show_review(self, text: str) -> None:
        app = App.get_running_app()
        self.step, self.title, self.review_text = "review", app.tr(app.lang, "review_title"), text

    def show_done(self, receipt_no: str, message: str, qr_texture) -> None:
        app = App.get_running_app()
        self.step, self.title = "done", app.tr(app.lang, "done_title")
        self.receipt_no, self.done_message, self.qr_texture = receipt_no, message, qr_texture
