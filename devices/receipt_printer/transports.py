"""Byte pipes to a receipt printer: write a job, read a status byte with a deadline.

One class per URL kind. Every transport can ``write``; those with ``can_read`` also ``read`` with a
timeout (``b""`` on silence, never a hang) and throw away stale input before a query. The driver
owns one transport on its own thread; nothing here is thread-safe on purpose.
"""
from __future__ import annotations

import os
import select
import socket

from devices.receipt_printer.urls import PrinterUrl


class TransportError(OSError):
    """The connection failed or went away; the driver reconnects."""


class Transport:
    can_read = True

    def open(self) -> None:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def read(self, size: int, timeout: float) -> bytes:
        """Up to ``size`` bytes arriving within ``timeout`` seconds; ``b""`` when none came."""
        return b""

    def discard_input(self) -> None:
        """Throw away bytes nobody asked for (late replies, noise) before a status query."""

    def close(self) -> None:
        raise NotImplementedError


class SerialTransport(Transport):
    """Any pyserial URL or device path, opened with ``serial.serial_for_url``."""

    def __init__(self, url: str, baudrate: int = 9600, write_timeout: float = 10.0, **flow) -> None:
        self.url = url
        self.baudrate = baudrate
        self.write_timeout = write_timeout
        self.flow = flow
        self._port = None

    def open(self) -> None:
        import serial

        try:
            port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.5,
                                         write_timeout=self.write_timeout, do_not_open=True, **self.flow)
            port.open()
        except (serial.SerialException, ValueError) as exc:
            raise TransportError(f"cannot open {self.url}: {exc}") from None
        self._port = port

    def write(self, data: bytes) -> None:
        import serial

        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:  # includes SerialTimeoutException
            raise TransportError(f"write to {self.url} failed: {exc}") from None

    def read(self, size: int, timeout: float) -> bytes:
        import serial

        try:
            self._port.timeout = timeout
            return self._port.read(size)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"read from {self.url} failed: {exc}") from None

    def discard_input(self) -> None:
        try:
            self._port.reset_input_buffer()
        except Exception:  # noqa: BLE001 - some URL handlers do not implement it; reading drains instead
            self._port.timeout = 0
            self._port.read(4096)

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None


class TcpTransport(Transport):
    """A raw TCP port (9100 on network printers and on the simulator)."""

    def __init__(self, host: str, port: int, connect_timeout: float = 3.0, write_timeout: float = 10.0) -> None:
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self._sock: socket.socket | None = None

    def open(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise TransportError(f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.write_timeout)
        self._sock = sock

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise TransportError(f"write to {self.host}:{self.port} failed: {exc}") from None

    def read(self, size: int, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self._sock], [], [], timeout)
            if not ready:
                return b""
            data = self._sock.recv(size)
        except OSError as exc:
            raise TransportError(f"read from {self.host}:{self.port} failed: {exc}") from None
        if not data:
            raise TransportError(f"{self.host}:{self.port} closed the connection")
        return data

    def discard_input(self) -> None:
        while True:
            ready, _, _ = select.select([self._sock], [], [], 0)
            if not ready:
                return
            try:
                if not self._sock.recv(4096):
                    raise TransportError(f"{self.host}:{self.port} closed the connection")
            except BlockingIOError:
                return
            except OSError as exc:
                raise TransportError(f"read from {self.host}:{self.port} failed: {exc}") from None

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None


class FileTransport(Transport):
    """Appends jobs to a file or a device node (``/dev/usb/lp0``); cannot ask the printer anything."""

    can_read = False

    def __init__(self, path: str) -> None:
        self.path = path
        self._fh = None

    def open(self) -> None:
        try:
            self._fh = open(self.path, "ab")
        except OSError as exc:
            raise TransportError(f"cannot open {self.path}: {exc.strerror or exc}") from None

    def write(self, data: bytes) -> None:
        try:
            self._fh.write(data)
            self._fh.flush()
            if os.path.isfile(self.path):
                os.fsync(self._fh.fileno())
        except OSError as exc:
            raise TransportError(f"write to {self.path} failed: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self._fh is not None:
            try:
                self._fh.close()
            finally:
                self._fh = None


class UsbTransport(Transport):
    """A USB printer class device through python-escpos ``Usb`` (pyusb); hardware only."""

    def __init__(self, idVendor: int, idProduct: int, timeout: int = 0, **endpoints) -> None:  # noqa: N803
        self.ids = (idVendor, idProduct)
        self.endpoints = endpoints
        self.timeout = timeout
        self._usb = None

    def open(self) -> None:
        try:
            import usb.core  # noqa: F401  (pyusb)
        except ImportError:
            raise TransportError("usb:// needs the pyusb package (pip install pyusb) and libusb") from None
        from escpos.printer import Usb

        from devices.receipt_printer.escpos_writer import _escpos_module

        _escpos_module()
        try:
            printer = Usb(*self.ids, timeout=self.timeout, **self.endpoints)
            printer.open()
        except Exception as exc:  # noqa: BLE001 - pyusb raises many types; all mean "not there"
            raise TransportError(f"cannot open USB printer {self.ids[0]:04x}:{self.ids[1]:04x}: {exc}") from None
        self._usb = printer

    def write(self, data: bytes) -> None:
        try:
            self._usb._raw(data)
        except Exception as exc:  # noqa: BLE001
            raise TransportError(f"USB write failed: {exc}") from None

    def read(self, size: int, timeout: float) -> bytes:
        try:
            return bytes(self._usb.device.read(self._usb.in_ep, size, int(timeout * 1000)))
        except Exception as exc:  # noqa: BLE001 - pyusb reports a timeout as USBTimeoutError
            if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower():
                return b""
            raise TransportError(f"USB read failed: {exc}") from None

    def close(self) -> None:
        if self._usb is not None:
            try:
                self._usb.close()
            finally:
                self._usb = None


class SimTransport(Transport):
    """The in-process simulator: writes are parsed at once and replies wait in a buffer.

    The simulator is made when the transport is, so its paper and condition survive reconnects.
    """

    def __init__(self, **sim_options) -> None:
        from devices.receipt_printer.simulator import PrinterSimulator

        self.simulator = PrinterSimulator(**sim_options)
        self._replies = bytearray()
        self._open = False

    def open(self) -> None:
        self._open = True

    def write(self, data: bytes) -> None:
        if not self._open:
            raise TransportError("simulator connection closed")
        self._replies += self.simulator.feed(data)

    def read(self, size: int, timeout: float) -> bytes:
        data = bytes(self._replies[:size])
        del self._replies[:size]
        return data  # the simulator answers synchronously: nothing now means nothing ever

    def discard_input(self) -> None:
        self._replies.clear()

    def close(self) -> None:
        if self._open:
            self.simulator.end_of_stream()
        self._open = False


def make_transport(url: PrinterUrl) -> Transport:
    """A closed transport for a parsed URL (``open()`` connects)."""
    if url.kind == "serial":
        return SerialTransport(url.target, **url.options)
    if url.kind == "tcp":
        return TcpTransport(url.target, url.port)
    if url.kind == "file":
        return FileTransport(url.target)
    if url.kind == "usb":
        return UsbTransport(**url.options)
    if url.kind == "sim":
        return SimTransport(**url.options)
    raise ValueError(f"no transport for {url.kind!r}")
