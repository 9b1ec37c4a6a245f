"""UI strings by area, merged into ``kiosk.i18n.STRINGS``: each module here has its own
``STRINGS: dict[str, tuple[str, str]]`` (key: (zh, en)) so that areas do not share one long file.
A key may be defined only once across all of them."""
