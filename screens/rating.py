"""好差评: what is being rated, five big choices; when unhappy, reasons, a typed remark for 其他
and a call-back phone on the big number pad; sent through the outbox.

Implements ``RatingView``. Pressing 提交 hands the rating to the rating flow, which stores it
durably in the outbox (in a worker) and thanks the citizen; when the network is down it says so
plainly: nothing is lost. The score buttons keep their size and place in every orientation and
whatever is chosen (a column in portrait, a row in landscape); typing (其他, the phone) opens a full-screen panel with the keys and 写好了.
"""
from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import Screen

from screens.widgets import OnScreenKeyboard

SCORES = ((5, "rating_5", (0.0, 0.45, 0.25, 1)), (4, "rating_4", (0.2, 0.55, 0.3, 1)),
          (3, "rating_3", (0.55, 0.5, 0.1, 1)), (2, "rating_2", (0.75, 0.35, 0.05, 1)),
          (1, "rating_1", (0.7, 0.1, 0.1, 1)))
REASONS = ("reason_wait", "reason_hard", "reason_device", "reason_unclear", "reason_other")
MAX_COMMENT = 300


class CommentKeyboard(OnScreenKeyboard):
    """The guide's keyboard with words people use to say what went wrong."""

    QUICK_WORDS = ("排队久", "太慢", "看不懂", "不会用", "机器坏了", "打印", "态度", "材料", "建议", "谢谢")


class RatingOffer(ModalView):
    """A task done (``title``, ``body``), what a rating would be about, 为这次服务评价 one tap away and
    完成, which only closes the offer."""

    title = StringProperty("")
    body = StringProperty("")
    about = StringProperty("")
    controller = ObjectProperty(None, allownone=True)

    def rate(self) -> None:
        self.dismiss(animation=False)
        if self.controller is not None:
            self.controller.rate_offered()


class RatingScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    score = NumericProperty(0)
    reasons = ListProperty([])
    subject_text = StringProperty("")
    comment = StringProperty("")
    wants_call = BooleanProperty(False)
    phone = StringProperty("")
    editing = StringProperty("")      # "" | "comment" | "phone": which input is open

    def on_kv_post(self, base_widget) -> None:
        self._panel = self.ids.unhappy_panel.__self__    # a strong reference: it leaves the layout at times
        self._show_panel()

    def on_score(self, _screen, _score) -> None:
        self._show_panel()

    def _show_panel(self) -> None:
        """The reasons panel is in the layout only when unhappy (hidden widgets must not take touches)."""
        panel = getattr(self, "_panel", None)
        if panel is None:
            return
        box = self.ids.submit_button.parent
        if 0 < self.score <= 2 and panel.parent is None:
            box.add_widget(panel, index=2)    # below the choices, above the gap and 提交
        elif not 0 < self.score <= 2 and panel.parent is not None:
            box.remove_widget(panel)

    def reset(self) -> None:
        self.score, self.reasons, self.comment, self.phone = 0, [], "", ""
        self.wants_call, self.editing, self.subject_text = False, "", ""   # closes the typing panel too

    def show_subject(self, text: str) -> None:
        self.subject_text = text

    def offer(self, title: str, body: str, about: str) -> None:
        """The offer of a rating over whatever screen is shown (closed with the visit's other dialogs)."""
        App.get_running_app().shell.open_dialog(RatingOffer(title=title, body=body, about=about,
                                                            controller=self.controller))

    def choose(self, score: int) -> None:
        self.score = score
        if score > 2:
            self.reasons, self.comment, self.wants_call, self.phone, self.editing = [], "", False, "", ""

    def toggle_reason(self, key: str) -> None:
        if key in self.reasons:
            self.reasons = [r for r in self.reasons if r != key]
            if key == "reason_other" and self.editing == "comment":
                self.editing = ""
        else:
            self.reasons = self.reasons + [key]
            if key == "reason_other":
                self.editing = "comment"

    def set_call(self, wanted: bool) -> None:
        self.wants_call = wanted
        self.editing = "phone" if wanted and len(self.phone) != 11 else ""
        if not wanted:
            self.phone = ""

    def type_text(self, text: str) -> None:
        if len(self.comment) + len(text) <= MAX_COMMENT:
            self.comment += text

    def press(self, digit: str) -> None:
        if len(self.phone) < 11:
            self.phone += digit
        if len(self.phone) == 11:
            self.editing = ""

    @property
    def ready(self) -> bool:
        return bool(self.score) and not (self.wants_call and len(self.phone) != 11)

    def submit(self) -> None:
        if self.score and not (self.wants_call and len(self.phone) != 11):
            self.controller.submit(int(self.score), list(self.reasons), self.comment,
                                   self.phone if self.wants_call else "")
