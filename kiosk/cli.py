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
import re
import sys
from dataclasses import dataclass

from kiosk.errors import KioskError
from kiosk.operate.journal import install_journal_logging

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
    "kiosk.commands.service",
    "kiosk.commands.fleet",
)

log = logging.getLogger("kiosk.cli")


@dataclass
class Parsers:
    top: argparse._SubParsersAction
    device: argparse._SubParsersAction
    sim: argparse._SubParsersAction


MAX_MESSAGE_CHARS = 240  # one line a technician reads on a console; echoed input is cut to fit


def one_line(message: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``message`` as one short printable line: control characters escaped, the rest cut."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(message)[:limit * 2])
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _say(message: object) -> None:
    """Print ``kiosk: message`` on stderr as one line, whatever the message or the terminal's encoding."""
    line = f"kiosk: {one_line(message)}\n"
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (UnicodeEncodeError, ValueError):
        sys.stderr.write(line.encode("ascii", "backslashreplace").decode("ascii"))
    except OSError:  # stderr closed: nothing more can be said
        pass


class _Parser(argparse.ArgumentParser):
    """argparse that prints one line and exits 2 on bad usage (no usage dump for scripts to parse)."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        # argparse quotes the offending value back; a value of megabytes must not fill the screen
        message = re.sub(r"[^\s,]{61,}", lambda m: m.group()[:60] + "…", message)
        _say(f"error: {message}")
        self.exit(2)


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
    """Run one command; every failure a user can cause is one line on stderr and an exit code."""
    try:
        return _main(argv)
    except KioskError as exc:
        _say(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except RecursionError:  # input nested deeper than a parser's stack, wherever it was parsed
        _say("error: the input is nested too deeply")
        return 2
    except (ValueError, RuntimeError) as exc:
        message = str(exc)
        if "embedded null" in message:  # a path with a NUL byte reached the operating system
            _say("error: a path or name contains a NUL byte")
            return 2
        if "home directory" in message:  # "~someone/…" for a user this machine does not have
            _say("error: a path names the home folder of an unknown user")
            return 2
        log.debug("unexpected failure", exc_info=True)
        _say(f"internal error: {type(exc).__name__}: {exc}")
        return 1
    except MemoryError:
        _say("error: out of memory (the input is too large)")
        return 1
    except Exception as exc:  # last resort: one line for the user, the trace for the log
        log.debug("unexpected failure", exc_info=True)
        _say(f"internal error: {type(exc).__name__}: {exc}")
        return 1


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_journal_logging()  # under systemd: stderr lines redacted, with syslog priorities
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    return int(func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
