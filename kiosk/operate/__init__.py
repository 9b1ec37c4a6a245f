"""Operating the kiosk without Kivy: diagnostics, the technician's access, the diagnostics bundle.

Everything here is plain Python that may block; the service-mode screens call it from workers
(``kiosk.bridge.Workers``) and ``kiosk doctor`` calls it from the shell.
"""
