"""The one entry point, ``kiosk``.

Every sub-command lives in a module of ``kiosk.commands`` with a ``register(parsers)`` function
that adds its parsers to ``parsers.top`` (``kiosk X``), ``parsers.device`` (``kiosk device X``) or
``parsers.sim`` (``kiosk sim X``) and sets ``func`` to a handler ``(args) -> int``.
Handlers raise ``kiosk.errors.KioskError`` subclasses for one-line failures; nothing else a user
sees is a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from dataclasses import dataclass

from kiosk.errors import KioskError

COMMAND_MODULES = (
    "kiosk.commands.run",
    "kiosk.commands.backend",
    "kiosk.commands.screenshot",
    "kiosk.commands.config_cmd",
    "kiosk.commands.queue",
    "kiosk.commands.idcard",
    "kiosk.commands.qr",
    "kiosk.commands.printer",
    "kiosk.commands.camera",
    "kiosk.commands.docprinter",
    "kiosk.commands.ledger",
    "kiosk.commands.doctor",
)

log = logging.getLogger("kiosk.cli")


@dataclass
class Parsers:
    top: argparse._SubParsersAction
    device: argparse._SubParsersAction
    sim: argparse._SubParsersAction


class _Parser(argparse.ArgumentParser):
    """argparse that prints one line and exits 2 on bad usage (no usage dump for scripts to parse)."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.exit(2, f"kiosk: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kiosk", description="Self-service kiosk for 24-hour government service zones.")
    parser.add_argument("--config", dest="config_path", default=None,
                        help="site configuration file (default /etc/kiosk/kiosk.toml when it exists)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    device = top.add_parser("device", help="talk to a device: read, status, self-test (technician's tool)")
    device_sub = device.add_subparsers(dest="device", metavar="DEVICE", parser_class=_Parser)
    device_sub.required = True
    sim = top.add_parser("sim", help="run a device simulator on a socket")
    sim_sub = sim.add_subparsers(dest="sim", metavar="DEVICE", parser_class=_Parser)
    sim_sub.required = True
    parsers = Parsers(top=top, device=device_sub, sim=sim_sub)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command is not built yet
                continue
            raise
        module.register(parsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code = func(args)
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last resort: one line for the user, the trace for the log
        log.debug("unexpected failure", exc_info=True)
        print(f"kiosk: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
