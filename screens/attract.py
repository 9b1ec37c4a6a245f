"""Attract screen: shown when nobody is using the kiosk. Any touch starts a session."""
from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen


def fit(text: str, design: float, width: float, height: float, bold: bool = False) -> float:
    """The font size for ``text`` in a slot of ``width`` × ``height``: the design size, or smaller until
    the wrapped text fits the slot (never below 20 px)."""
    from kivy.core.text import Label as CoreLabel

    size = design
    while size > 20 and width > 0 and height > 0:
        label = CoreLabel(text=text, font_size=size, bold=bold, text_size=(width, None), halign="center")
        label.refresh()
        if label.content_height <= height and label.content_width <= width + 1:
            break
        size = max(20, size * 0.92)
    return size


class AttractScreen(Screen):
    notice = StringProperty("")
    notice_index = NumericProperty(0)
    landscape = BooleanProperty(False)    # wider than high: lower slots, so smaller lines (attract.kv)
    _rotation = None

    # Started and stopped on on_pre_enter/on_pre_leave, which Kivy's ScreenManager dispatches at the
    # start of every switch. on_enter/on_leave come only when a switch completes: one cut short by
    # the next switch (two in one tick) skips both, and a screen entered, then left that way, never
    # heard on_leave: its timer ran on, and the next entry started another (a 4,200-visit soak
    # found 420 of them rotating the notices).
    def on_pre_enter(self, *args) -> None:
        self.on_pre_leave()
        self.rotate_notice()
        self._rotation = Clock.schedule_interval(lambda dt: self.rotate_notice(), 6)

    def on_pre_leave(self, *args) -> None:
        if self._rotation is not None:
            self._rotation.cancel()
            self._rotation = None

    def on_kv_post(self, base_widget) -> None:
        App.get_running_app().bind(lang=lambda *_: self.show_notice())

    def notices(self) -> list[str]:
        """The notices in the kiosk's language (English ones from ``kiosk.notices_en``)."""
        app = App.get_running_app()
        return list(app.cfg.kiosk.notices_en) if app.lang == "en" else list(app.notices)

    def show_notice(self) -> None:
        notices = self.notices()
        self.notice = notices[(self.notice_index - 1) % len(notices)] if notices else ""

    def rotate_notice(self) -> None:
        notices = self.notices()
        if notices:
            self.notice = notices[self.notice_index % len(notices)]
            self.notice_index += 1

    def on_touch_down(self, touch) -> bool:
        """Any touch starts a visit; a touch on the big 长辈模式 button starts it in elderly mode."""
        app = App.get_running_app()
        button = self.ids.elderly_start
        elderly = button.collide_point(*button.to_widget(*touch.pos))
        app.start_session("touch")
        if elderly and not app.elderly:
            app.toggle_elderly()
        return True
