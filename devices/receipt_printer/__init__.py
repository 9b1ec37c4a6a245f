"""ESC/POS receipt printer: driver, status decoding, Chinese text, layouts, and a simulator.

Modules (each readable on its own):

- ``urls``          printer URLs (serial, tcp, usb, file, sim) and their settings
- ``profiles``      printer profiles as data (profiles.json): head width, columns, encoding, QR mode
- ``text``          what a GBK font can print, Chinese-mode encoding, display width, wrapping
- ``status``        ``DLE EOT`` replies checked against ``0xx1xx10`` and decoded into a condition
- ``escpos_writer`` python-escpos commands through our own byte sink (why: see its docstring)
- ``layout``        receipt blocks -> bytes for a profile
- ``transports``    serial / TCP / file / USB / in-process simulator byte pipes
- ``driver``        :class:`ReceiptPrinter`, the thread that owns the printer
- ``sim_parser``, ``sim_paper``, ``simulator``: the simulator (parse, draw, answer)

Importing this package does no work: python-escpos and Pillow load when first needed.
"""
