"""The kiosk's application core: configuration, session, services, CLI and app wiring.

Only ``kiosk.app`` imports Kivy; everything else here is plain Python so the CLI and the
tests can use it without a display.
"""
__version__ = "0.1.0"
