"""The ``kiosk`` command on odd and hostile input: one short English line, exit 2, nothing left behind.

Each case is what a careless operator or an attacker with a shell can hand the command: files that
are huge, endless or special, nesting deeper than any parser's stack, numbers of thousands of
digits, NUL bytes, home folders of users that do not exist. The command must read only what it
needs (bounded before parsing), answer in one line that does not echo the input back whole, and
leave no outbox, key or folder behind.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_kiosk

MAX_LINE = 300  # an error line a technician reads on an 80x25 console in a few rows at most
MEMORY_CAP = 1 << 30  # address space for the child where a test would otherwise let it take gigabytes


def one_short_line(proc, code: int = 2) -> str:
    """The child's answer: exit ``code`` and exactly one short ``kiosk: …`` line on stderr."""
    assert proc.returncode == code, (proc.returncode, proc.stdout[:500], proc.stderr[:500])
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[:500]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[:500]
    assert lines[0].startswith("kiosk: ") and len(lines[0]) <= MAX_LINE, lines[0][:500]
    return lines[0]


def capped_kiosk(*args: str, timeout: float = 60):
    """``kiosk ARGS`` with its address space capped, so a command that reads without bound fails fast."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, preexec_fn=limit)


def write(tmp_path: Path, text: str, name: str = "kiosk.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def check(config: Path | str):
    return run_kiosk("--config", str(config), "config", "check", timeout=60)


# ------------------------------------------------------------------------- configuration files

def test_deeply_nested_toml(tmp_path):
    line = one_short_line(check(write(tmp_path, "a = " + "[" * 50_000 + "]" * 50_000 + "\n")))
    assert "not valid TOML" in line


def test_five_thousand_digit_integer_in_toml(tmp_path):
    line = one_short_line(check(write(tmp_path, "[outbox]\nquota_mb = " + "9" * 5000 + "\n")))
    assert "9" * 100 not in line


def test_four_thousand_digit_integer_is_refused_without_echo(tmp_path):
    """Under the interpreter's digit limit the number parses; the range message must not print it whole."""
    line = one_short_line(check(write(tmp_path, "[outbox]\nquota_mb = " + "9" * 4000 + "\n")))
    assert "outbox.quota_mb" in line and "9" * 100 not in line


def test_unknown_home_folder_in_a_configured_path(tmp_path):
    line = one_short_line(check(write(tmp_path, '[paths]\ndata_dir = "~nosuchuser/kiosk"\n')))
    assert "paths.data_dir" in line and "~nosuchuser" in line


def test_proc_self_mem_as_the_configuration(tmp_path):
    line = one_short_line(check("/proc/self/mem"))
    assert "/proc/self/mem" in line


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_special_files_as_the_configuration_are_refused_before_reading(tmp_path, special):
    if special == "fifo":  # opening a pipe nobody writes to would wait for ever
        special = str(tmp_path / "kiosk.toml")
        os.mkfifo(special)
    line = one_short_line(capped_kiosk("--config", special, "config", "check", timeout=20))
    assert "not a regular file" in line


def test_ten_megabyte_key_name_is_not_printed_back(tmp_path):
    line = one_short_line(check(write(tmp_path, "[kiosk]\n" + "k" * 10_000_000 + " = 1\n")))
    assert "k" * 100 not in line


def test_long_key_name_under_the_size_bound_is_truncated_in_the_answer(tmp_path):
    line = one_short_line(check(write(tmp_path, "[kiosk]\n" + "k" * 500_000 + " = 1\n")))
    assert "unknown key" in line and "k" * 100 not in line


def test_long_value_is_truncated_in_the_answer(tmp_path):
    line = one_short_line(check(write(tmp_path, '[kiosk]\nid = "' + "x" * 100_000 + '"\n')))
    assert "kiosk.id" in line and "x" * 100 not in line


@pytest.mark.parametrize("text,key", [
    ('[paths]\ndata_dir = "/var/lib/kiosk\\u0000/x"\n', "paths.data_dir"),
    ('[paths]\nkey_file = "/etc/kiosk/outbox.key\\u0000"\n', "paths.key_file"),
    ('[devices]\nqr = "serial:///dev/ttyACM0\\u0000?baud=9600"\n', "devices.qr"),
    ('[devices]\nidcard = "/dev/ttyUSB0\\u0000"\n', "devices.idcard"),
    ('[devices]\nreceipt_printer = "tcp://192.168.1.50:9100\\n"\n', "devices.receipt_printer"),
    ('[devices]\ncamera = "v4l2://[::1"\n', "devices.camera"),
], ids=["data_dir", "key_file", "qr", "idcard-path", "newline", "bad-bracket"])
def test_nul_and_control_characters_in_paths_and_device_urls(tmp_path, text, key):
    line = one_short_line(check(write(tmp_path, text)))
    assert key in line and "\x00" not in line


def test_hundred_megabyte_toml_is_refused_by_size_before_parsing(tmp_path):
    path = tmp_path / "kiosk.toml"
    with open(path, "wb") as fh:  # valid TOML: one section and a 100 MB comment
        fh.write(b"[kiosk]\n#")
        block = b"x" * (1 << 20)
        for _ in range(100):
            fh.write(block)
        fh.write(b"\n")
    line = one_short_line(capped_kiosk("--config", str(path), "config", "check"))
    assert "larger than" in line


def test_nul_byte_in_config_path_argument(tmp_path):
    """argv cannot carry a NUL, but a path made from the configuration can; the file reader says so."""
    from kiosk.config import load_config
    from kiosk.errors import ConfigError

    with pytest.raises(ConfigError, match="NUL"):
        load_config(str(tmp_path / "a\x00b.toml"))


# ------------------------------------------------------------------------- queue enqueue

@pytest.fixture
def outbox_paths(tmp_path):
    return tmp_path / "outbox", tmp_path / "secrets" / "outbox.key"


def enqueue(tmp_path, outbox_paths, *args: str, capped: bool = False):
    data, key = outbox_paths
    config = write(tmp_path, "", name="empty.toml")
    argv = ("--config", str(config), "queue", "enqueue", "--path", "/api/v1/ratings", *args,
            "--data-dir", str(data), "--key-file", str(key))
    return capped_kiosk(*argv) if capped else run_kiosk(*argv, timeout=60)


def nothing_left(outbox_paths) -> None:
    data, key = outbox_paths
    assert not data.exists() and not key.exists() and not key.parent.exists()


def test_deeply_nested_json_body(tmp_path, outbox_paths):
    line = one_short_line(enqueue(tmp_path, outbox_paths, "--json", "[" * 20_000 + "]" * 20_000))
    assert "--json" in line
    nothing_left(outbox_paths)


def test_five_thousand_digit_number_in_json_body(tmp_path, outbox_paths):
    line = one_short_line(enqueue(tmp_path, outbox_paths, "--json", '{"n": ' + "7" * 5000 + "}"))
    assert "7" * 100 not in line and "set_int_max_str_digits" not in line  # no advice meant for programmers
    nothing_left(outbox_paths)


def test_proc_self_mem_as_an_attachment_leaves_nothing(tmp_path, outbox_paths):
    line = one_short_line(enqueue(tmp_path, outbox_paths, "--file", "/proc/self/mem"))
    assert "/proc/self/mem" in line
    nothing_left(outbox_paths)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_special_file_as_an_attachment(tmp_path, outbox_paths, special):
    if special == "fifo":
        special = str(tmp_path / "scan.jpg")
        os.mkfifo(special)
    line = one_short_line(enqueue(tmp_path, outbox_paths, "--file", special, capped=True))
    assert "not a regular file" in line
    nothing_left(outbox_paths)


def test_one_and_a_half_gibibyte_attachment_is_refused_before_reading(tmp_path, outbox_paths):
    big = tmp_path / "scan.pdf"
    with open(big, "wb") as fh:  # sparse: costs no disk, but reads as 1.5 GiB
        fh.truncate(3 << 29)
    line = one_short_line(enqueue(tmp_path, outbox_paths, "--file", str(big), capped=True))
    assert "larger than" in line
    nothing_left(outbox_paths)


def test_attachments_together_are_bounded(tmp_path, outbox_paths):
    """Several files each under the bound but together over it are refused as a whole."""
    names = []
    for i in range(5):
        part = tmp_path / f"page{i}.jpg"
        with open(part, "wb") as fh:
            fh.truncate(15 << 20)
        names += ["--file", str(part)]
    line = one_short_line(enqueue(tmp_path, outbox_paths, *names, capped=True))
    assert "together" in line
    nothing_left(outbox_paths)


def test_unknown_home_folder_as_the_outbox_folder(tmp_path):
    config = write(tmp_path, "", name="empty.toml")
    proc = run_kiosk("--config", str(config), "queue", "status", "--data-dir", "~nosuchuser/outbox",
                     "--key-file", str(tmp_path / "k" / "outbox.key"), cwd=tmp_path, timeout=60)
    line = one_short_line(proc)
    assert "~nosuchuser" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.toml"]  # no folder named '~nosuchuser'


def test_control_characters_in_the_outbox_folder(tmp_path):
    config = write(tmp_path, "", name="empty.toml")
    proc = run_kiosk("--config", str(config), "queue", "status", "--data-dir", str(tmp_path / "out\nbox"),
                     "--key-file", str(tmp_path / "k" / "outbox.key"), timeout=60)
    one_short_line(proc)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.toml"]


# ------------------------------------------------------------------------- the top level

def test_bad_choice_is_not_echoed_whole():
    proc = run_kiosk("queue", "list", "--state", "x" * 50_000, timeout=60)
    line = one_short_line(proc)
    assert "x" * 100 not in line


def test_unexpected_failure_is_one_short_line_without_traceback(monkeypatch, capsys):
    """A bug in a handler still reaches the user as one line (exit 1), never a traceback."""
    from kiosk import cli
    from kiosk.commands import config_cmd

    def broken(args):
        raise RuntimeError("boom " + "y" * 10_000 + "\nsecond line")
    monkeypatch.setattr(config_cmd, "check_config", broken)
    assert cli.main(["config", "check"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and len(err) <= MAX_LINE + 1, err[:500]
    assert err.startswith("kiosk: internal error: RuntimeError: boom")


def test_user_error_messages_are_cut_to_one_short_line(monkeypatch, capsys):
    from kiosk import cli
    from kiosk.commands import config_cmd
    from kiosk.errors import UsageError

    def refuses(args):
        raise UsageError("bad value " + "z" * 10_000 + "\nand more")
    monkeypatch.setattr(config_cmd, "check_config", refuses)
    assert cli.main(["config", "check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) <= MAX_LINE + 1 and err.startswith("kiosk: bad value zzz"), err[:500]


def test_failure_while_building_arguments_is_one_line(monkeypatch, capsys):
    """An exception raised while the arguments are parsed (outside any handler) is caught too."""
    import argparse

    from kiosk import cli

    def exploding(self, *args, **kwargs):
        raise LookupError("no such thing\n" + "w" * 10_000)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", exploding)
    assert cli.main(["config", "check"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and len(err) <= MAX_LINE + 1, err[:500]


@pytest.mark.parametrize("failure", [
    lambda: Path("~nosuchuser/data").expanduser(),
    lambda: open("/tmp/a\x00b", "rb"),
], ids=["unknown-home", "nul-byte"])
def test_path_mistakes_anywhere_are_usage_errors(monkeypatch, capsys, failure):
    """A command that passes a path through unchecked still answers exit 2 and one line, not an internal error."""
    from kiosk import cli
    from kiosk.commands import config_cmd

    monkeypatch.setattr(config_cmd, "check_config", lambda args: failure())
    assert cli.main(["config", "check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kiosk: error: ") and "internal" not in err, err
