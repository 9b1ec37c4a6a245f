"""Home screen: six big tiles, one per thing a citizen comes to do."""
from __future__ import annotations

from kivy.app import App
from kivy.properties import NumericProperty
from kivy.uix.screenmanager import Screen

# (action, title key, subtitle key, glyph, accent colour)
TILES = (
    ("guide", "tile_guide", "tile_guide_sub", "指", (0.05, 0.38, 0.72, 1)),
    ("progress", "tile_progress", "tile_progress_sub", "查", (0.0, 0.47, 0.42, 1)),
    ("certificates", "tile_certificates", "tile_certificates_sub", "印", (0.55, 0.27, 0.07, 1)),
    ("submit", "tile_submit", "tile_submit_sub", "交", (0.42, 0.19, 0.58, 1)),
    ("rating", "tile_rating", "tile_rating_sub", "评", (0.70, 0.13, 0.16, 1)),
    ("help", "tile_help", "tile_help_sub", "帮", (0.13, 0.40, 0.13, 1)),
)


class HomeScreen(Screen):
    columns = NumericProperty(2)

    def on_kv_post(self, base_widget) -> None:
        from kivy.factory import Factory

        app = App.get_running_app()
        grid = self.ids.tiles
        for action, title, subtitle, glyph, accent in TILES:
            tile = Factory.Tile(glyph=glyph, accent=accent, action=action)
            tile.title = app.tr(app.lang, title)
            tile.subtitle = app.tr(app.lang, subtitle)

            def relabel(*_, tile=tile, title=title, subtitle=subtitle):
                tile.title = app.tr(app.lang, title)
                tile.subtitle = app.tr(app.lang, subtitle)
            app.bind(lang=relabel)
            tile.bind(on_release=lambda t: app.open_task(t.action, t.title))
            grid.add_widget(tile)
