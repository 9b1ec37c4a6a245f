"""Sub-commands of ``kiosk``. Each module has ``register(parsers)``; see ``kiosk.cli``."""
