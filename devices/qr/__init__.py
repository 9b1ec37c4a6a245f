"""QR and barcode scanning: camera frames decoded with zxing-cpp (pyzbar second),
serial/USB-CDC scanners, HID keyboard-wedge and HID-POS scanners, and a scanner simulator.

    scanner = QrScanner("serial:///dev/ttyACM0?baud=115200")   # or socket://, hid://, camera://, sim://
    scanner.subscribe(on_event)   # CodeScanned / StatusChanged (devices.base), on the scanner's thread
    scanner.start()

What a scanned text means is decided by kiosk.qr_content, not here.
"""
from devices.qr.events import CodeScanned
from devices.qr.scanner import QrScanner
from devices.qr.urls import parse_scanner_url

__all__ = ["CodeScanned", "QrScanner", "parse_scanner_url"]
