"""维护模式: the diagnostics screen a technician works on (denser than a citizen's screens).

Implements ``ServiceView``: the service flow (kiosk.flows.service) hands it device panels, rows
for the network, outbox, system and counters sections, the log lines and the camera's live frames;
the buttons call the flow. Nothing here talks to a device or reads a file.
"""
from __future__ import annotations

from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

STATUS_WORDS = {"ok": "正常", "warn": "注意", "fail": "故障", "skip": "不适用", "wait": "检查中"}
LOG_LINES_PER_LABEL = 25   # long logs are cut into several labels: one huge texture would not draw


class ServicePanelBox(BoxLayout):
    """One device: title, status, state, URL, last error, counters, the live test and its outcome."""

    panel = ObjectProperty(None, allownone=True)
    status_word = StringProperty("")

    def on_panel(self, *args) -> None:
        self.status_word = STATUS_WORDS.get(self.panel.status, self.panel.status) if self.panel else ""


class ServiceRowLine(BoxLayout):
    """One line of a section: a title and its text, coloured by status."""

    row = ObjectProperty(None, allownone=True)


class ServiceScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    title = StringProperty("维护模式")
    idle_text = StringProperty("")
    notice = StringProperty("")
    notice_ok = BooleanProperty(True)
    restart_armed = BooleanProperty(False)
    camera_texture = ObjectProperty(None, allownone=True)

    def show_header(self, title: str, idle_text: str) -> None:
        self.title, self.idle_text = title, idle_text

    def show_notice(self, text: str, ok: bool = True) -> None:
        self.notice, self.notice_ok = text, ok

    def set_restart_armed(self, armed: bool) -> None:
        self.restart_armed = armed

    def show_panels(self, panels) -> None:
        from kivy.factory import Factory

        box = self.ids.panels
        boxes = {w.panel.device: w for w in box.children if getattr(w, "panel", None) is not None}
        if set(boxes) != {p.device for p in panels}:
            box.clear_widgets()
            for panel in panels:
                box.add_widget(Factory.ServicePanelBox(panel=panel))
            return
        for panel in panels:
            boxes[panel.device].panel = panel

    def show_rows(self, section: str, rows) -> None:
        from kivy.factory import Factory

        box = self.ids[f"rows_{section}"]
        box.clear_widgets()
        for row in rows:
            box.add_widget(Factory.ServiceRowLine(row=row))

    def show_logs(self, lines) -> None:
        from kivy.factory import Factory

        box = self.ids.logs
        box.clear_widgets()
        lines = list(lines)
        for start in range(0, len(lines), LOG_LINES_PER_LABEL):
            box.add_widget(Factory.ServiceLogText(text="\n".join(lines[start:start + LOG_LINES_PER_LABEL])))

    def show_camera(self, frame) -> None:
        if frame is None:
            self.camera_texture = None
            return
        width, height = frame.size
        texture = self.camera_texture
        if texture is None:  # the view just opened below the panels: bring it into sight
            from kivy.clock import Clock

            Clock.schedule_once(lambda dt: self.ids.scroll.scroll_to(self.ids.camera_box, animate=False), 0.1)
        if texture is None or tuple(texture.size) != (width, height):
            texture = Texture.create(size=(width, height), colorfmt="rgb")
        texture.blit_buffer(frame.rgb, colorfmt="rgb", bufferfmt="ubyte")
        self.camera_texture = texture
        self.ids.camera_view.canvas.ask_update()
