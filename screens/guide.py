"""办事指南: browse by category and level, search by Chinese or pinyin as the citizen types."""
from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.catalogue import LEVEL_NAMES, LEVEL_NAMES_EN


class GuideRow(ButtonBehavior, BoxLayout):
    item_id = StringProperty("")
    name = StringProperty("")
    detail = StringProperty("")
    badge = StringProperty("")
    submittable = BooleanProperty(False)


class GuideScreen(Screen):
    query = StringProperty("")
    category = StringProperty("")
    level = StringProperty("")
    results = ListProperty([])
    categories = ListProperty([])
    count_text = StringProperty("")
    empty_text = StringProperty("")
    keyboard_open = BooleanProperty(True)

    def on_kv_post(self, base_widget) -> None:
        app = App.get_running_app()
        app.bind(catalogue_revision=lambda *_: self.refresh(), lang=lambda *_: self.refresh())
        self.ids.keyboard.bind(on_key=lambda kb, text: self.type_text(text),
                               on_backspace=lambda kb: self.backspace(),
                               on_clear=lambda kb: self.clear())

    def on_pre_enter(self, *args) -> None:
        self.refresh()

    def toggle_keyboard(self) -> None:
        """Hide the keyboard to see more results (elderly mode makes both big); tap again to type."""
        keyboard, box = self.ids.keyboard, self.ids.body
        if self.keyboard_open:
            box.remove_widget(keyboard)
        else:
            box.add_widget(keyboard, index=0)
        self.keyboard_open = not self.keyboard_open

    def type_text(self, text: str) -> None:
        self.query = (self.query + text)[:40]

    def backspace(self) -> None:
        self.query = self.query[:-1]

    def clear(self) -> None:
        self.query = ""

    def on_query(self, *args) -> None:
        self.refresh()

    def choose_category(self, category: str) -> None:
        self.category = "" if self.category == category else category
        self.refresh()

    def choose_level(self, level: str) -> None:
        self.level = "" if self.level == level else level
        self.refresh()

    def reset(self) -> None:
        self.query, self.category, self.level = "", "", ""
        if not self.keyboard_open:
            self.toggle_keyboard()

    def refresh(self) -> None:
        app = App.get_running_app()
        index = app.catalogue_index
        if index is None:
            self.results, self.categories = [], []
            self.count_text = ""
            self.empty_text = app.catalogue_message or app.tr(app.lang, "loading")
            return
        self.categories = index.categories()
        names = LEVEL_NAMES_EN if app.lang == "en" else LEVEL_NAMES
        items = index.search(self.query, category=self.category or None, level=self.level or None)
        rows = []
        for item in items:
            limit = (app.tr(app.lang, "instant") if item.time_limit_days == 0
                     else app.tr(app.lang, "days", n=item.time_limit_days))
            rows.append({"item_id": item.id, "name": item.name, "badge": names[item.level],
                         "detail": f"{item.category} · {item.department} · {limit}",
                         "submittable": item.kiosk_submittable})
        self.results = rows
        self.count_text = app.tr(app.lang, "results", n=len(rows))
        self.empty_text = "" if rows else app.tr(app.lang, "no_results", hotline=app.hotline)
        self._rebuild_chips()

    def _rebuild_chips(self) -> None:
        from kivy.factory import Factory

        app = App.get_running_app()
        box = self.ids.category_chips
        box.clear_widgets()
        for value, label in [("", app.tr(app.lang, "all"))] + [(c, c) for c in self.categories]:
            chip = Factory.Chip(text=label, value=value, selected=(self.category == value))
            chip.bind(on_release=lambda c: self.choose_category(c.value) if c.value else self._all_categories())
            box.add_widget(chip)
        levels = self.ids.level_chips
        levels.clear_widgets()
        names = LEVEL_NAMES_EN if app.lang == "en" else LEVEL_NAMES
        for value, label in [("", app.tr(app.lang, "all_levels"))] + [(k, v) for k, v in names.items()]:
            chip = Factory.Chip(text=label, value=value, selected=(self.level == value))
            chip.bind(on_release=lambda c: self.choose_level(c.value) if c.value else self._all_levels())
            levels.add_widget(chip)

    def _all_categories(self) -> None:
        self.category = ""
        self.refresh()

    def _all_levels(self) -> None:
        self.level = ""
        self.refresh()

    def open_item(self, item_id: str) -> None:
        App.get_running_app().open_guide_item(item_id)
