"""办事指南: browse by category and level, search by Chinese or pinyin as the citizen types.

The search itself is the guide flow's (kiosk.flows.guide); this screen keeps what the citizen
typed and chose, and draws the ``GuideResults`` it gets back.
"""
from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.flows.views import GuideResults


class GuideRow(ButtonBehavior, BoxLayout):
    item_id = StringProperty("")
    name = StringProperty("")
    detail = StringProperty("")
    badge = StringProperty("")
    submittable = BooleanProperty(False)


class GuideScreen(Screen):
    """Implements ``GuideView``; its controller is the ``GuideFlow``."""

    controller = ObjectProperty(None, allownone=True)
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

    @staticmethod
    def shown_query(query: str, lang: str) -> str:
        """What the search box shows: a quick word in the citizen's language, typed letters in capitals."""
        label = App.get_running_app().tr(lang, f"quick_word:{query}")
        return query.upper() if label.startswith("quick_word:") else label

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
        if self.controller is not None:
            self.show_results(self.controller.search(self.query, self.category, self.level))

    def show_results(self, results: GuideResults) -> None:
        self.categories = [value for value, _ in results.categories[1:]]
        self.results = [{"item_id": r.key, "name": r.title, "badge": r.badge, "detail": r.detail,
                         "submittable": r.flag} for r in results.rows]
        self.count_text, self.empty_text = results.count_text, results.empty_text
        self._rebuild_chips(results)

    def _rebuild_chips(self, results: GuideResults) -> None:
        from kivy.factory import Factory

        for box, choices, chosen, choose in ((self.ids.category_chips, results.categories, self.category, self.choose_category),
                                             (self.ids.level_chips, results.levels, self.level, self.choose_level)):
            box.clear_widgets()
            for value, label in choices:
                chip = Factory.Chip(text=label, value=value, selected=(chosen == value))
                chip.bind(on_release=lambda c, choose=choose: choose(c.value) if c.value else self._all(choose))
                box.add_widget(chip)

    def _all(self, choose) -> None:
        if choose == self.choose_category:
            self.category = ""
        else:
            self.level = ""
        self.refresh()

    def open_item(self, item_id: str) -> None:
        self.controller.open_item(item_id)
