"""Errors that the command line turns into one line on stderr and an exit code (2 usage or input, 3 nothing found, 4 device or network)."""


class KioskError(Exception):
    """Base for errors that carry a user-facing one-line message and an exit code."""

    exit_code = 1


class UsageError(KioskError):
    """Bad usage or bad input (exit 2)."""

    exit_code = 2


class NothingFound(KioskError):
    """Nothing found: no card, no code, no document (exit 3)."""

    exit_code = 3


class DeviceFailure(KioskError):
    """A device or the network failed (exit 4)."""

    exit_code = 4


class ConfigError(UsageError):
    """A configuration value is wrong; the message names the key and the file."""
