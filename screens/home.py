"""Home screen: big tiles, one per thing a citizen comes to do.

Two columns upright; lying, four columns when there are more than six tiles (three in elderly
mode, whose titles are larger), with the greeting beside the elderly-mode button. A tile too short for its glyph, title and explanation
(a lying screen in elderly mode) drops the glyph, so that the words are never clipped.
"""
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
    ("appointment", "tile_appointment", "tile_appointment_sub", "约", (0.0, 0.36, 0.55, 1)),
    ("pay", "tile_payment", "tile_payment_sub", "缴", (0.72, 0.36, 0.0, 1)),
)
GLYPH_SHARE, TITLE_SHARE, SUBTITLE_SHARE = 0.45, 0.3, 0.25


def fit_tile(tile, *_args) -> None:
    """Show the glyph only when the tile has room for it above the title and the explanation."""
    labels = list(reversed(tile.children))
    if len(labels) != 3:
        return
    glyph, title, subtitle = labels
    words = title.texture_size[1] + subtitle.font_size * 1.4
    room = tile.height - tile.padding[1] - tile.padding[3] - 2 * tile.spacing
    if room >= words + glyph.font_size * 1.1 or room <= 0:
        glyph.opacity, glyph.size_hint_y = 1, GLYPH_SHARE
        title.size_hint_y, subtitle.size_hint_y = TITLE_SHARE, SUBTITLE_SHARE
    else:
        glyph.opacity, glyph.size_hint_y = 0, 0.0001
        share = title.texture_size[1] / max(1.0, words)
        title.size_hint_y, subtitle.size_hint_y = share, 1 - share


class HomeScreen(Screen):
    columns = NumericProperty(2)

    def on_size(self, *_args) -> None:
        self.update_columns()

    def update_columns(self, *_args) -> None:
        """Lying: four columns of big tiles, or three of wider ones in elderly mode (its titles are
        larger and must not wrap); upright: two."""
        app = App.get_running_app()
        elderly = app is not None and getattr(app, "fs", 1.0) > 1.0
        lying = self.width > self.height
        self.columns = (3 if elderly or len(TILES) <= 6 else 4) if lying else 2

    def on_kv_post(self, base_widget) -> None:
        from kivy.factory import Factory

        app = App.get_running_app()
        app.bind(fs=self.update_columns)
        grid = self.ids.tiles
        for action, title, subtitle, glyph, accent in TILES:
            tile = Factory.Tile(glyph=glyph, accent=accent, action=action)
            tile.title = app.tr(app.lang, title)
            tile.subtitle = app.tr(app.lang, subtitle)
            tile.glyph = glyph if app.lang == "zh" else app.tr(app.lang, title)[:1]

            def relabel(*_, tile=tile, title=title, subtitle=subtitle, glyph=glyph):
                tile.title = app.tr(app.lang, title)
                tile.subtitle = app.tr(app.lang, subtitle)
                tile.glyph = glyph if app.lang == "zh" else app.tr(app.lang, title)[:1]  # a letter in English
            app.bind(lang=relabel)
            tile.bind(on_release=lambda t: app.open_task(t.action, t.title))
            tile.bind(size=fit_tile)
            app.bind(fs=lambda *_a, tile=tile: fit_tile(tile))
            for label in tile.children:
                label.bind(texture_size=lambda *_a, tile=tile: fit_tile(tile))
            grid.add_widget(tile)
