"""deploy/install.sh against a throwaway root: what it produced, that a second run changes nothing,
that an upgrade keeps data, keys and the site file, and ``systemd-analyze verify`` on every unit.

The root starts as a Debian 12 base would: the host's account files, and what apt would have put
there for the units to be checked (systemd's own units, cage). Needs root (it creates a user in
the throwaway root and sets owners), as the installer does.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

INSTALL = ROOT / "deploy" / "install.sh"
GROUPS = {"dialout", "video", "lp", "input"}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the installer creates users and sets owners: needs root")


def build_wheel(folder: Path) -> Path:
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "pip"), "wheel", "--quiet", "--no-deps", "--wheel-dir",
                           str(folder), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    [wheel] = folder.glob("kiosk-*.whl")
    return wheel


def rebuilt_as(wheel: Path, version: str, folder: Path) -> Path:
    """The same wheel re-versioned (an upgrade), with its RECORD hashes recomputed."""
    old = wheel.name.split("-")[1]
    out = folder / wheel.name.replace(old, version)
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        record_lines = []
        record_name = ""
        for info in src.infolist():
            name = info.filename.replace(f"kiosk-{old}.dist-info", f"kiosk-{version}.dist-info")
            if name.endswith("RECORD"):
                record_name = name
                continue
            data = src.read(info)
            if name.endswith("METADATA"):
                data = data.replace(f"Version: {old}".encode(), f"Version: {version}".encode())
            dst.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record_lines.append(f"{name},sha256={digest},{len(data)}")
        record_lines.append(f"{record_name},,")
        dst.writestr(record_name, "\n".join(record_lines) + "\n")
    return out


def fresh_root(path: Path) -> Path:
    (path / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow"):
        shutil.copy2(f"/etc/{name}", path / "etc" / name)
    if "kiosk" in (path / "etc" / "passwd").read_text():
        pytest.skip("the host has a kiosk user already")
    (path / "usr" / "lib" / "systemd").mkdir(parents=True)
    (path / "usr" / "bin").mkdir(parents=True)
    (path / "lib").symlink_to("usr/lib")
    shutil.copytree("/usr/lib/systemd/system", path / "usr" / "lib" / "systemd" / "system", symlinks=True)
    if shutil.which("cage"):
        shutil.copy2(shutil.which("cage"), path / "usr" / "bin" / "cage")
    return path


def install(root: Path, wheel: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(["bash", str(INSTALL), "--root", str(root), "--wheel", str(wheel), "--no-deps"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def tree_state(root: Path) -> dict[str, tuple]:
    """Every path's type, mode, owner and content hash (or link target): what 'nothing changed' means."""
    state = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = str(path.relative_to(root))
        if stat.S_ISLNK(st.st_mode):
            state[rel] = ("link", os.readlink(path), st.st_uid, st.st_gid)
        elif stat.S_ISDIR(st.st_mode):
            state[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        else:
            state[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                          hashlib.sha256(path.read_bytes()).hexdigest())
    return state


def account(root: Path, name: str) -> list[str]:
    for line in (root / "etc" / "passwd").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split(":")
    raise AssertionError(f"no user {name}")


def member_of(root: Path, user: str) -> set[str]:
    groups = set()
    for line in (root / "etc" / "group").read_text().splitlines():
        name, _, _, members = line.split(":")
        if user in members.split(","):
            groups.add(name)
    return groups


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("install")
    wheel = build_wheel(work / "dist")
    root = fresh_root(work / "root")
    first = install(root, wheel)
    return root, wheel, work, first


def test_fresh_root_becomes_a_kiosk(installed):
    root, wheel, _, first = installed
    user = account(root, "kiosk")
    uid, gid = int(user[2]), int(user[3])
    assert user[5] == "/var/lib/kiosk" and user[6] == "/usr/sbin/nologin"
    assert member_of(root, "kiosk") == GROUPS  # only the device groups: no sudo, no shell
    # the application, runnable with the site file it was given
    script = root / "opt" / "kiosk" / "venv" / "bin" / "kiosk"
    assert script.read_text().splitlines()[0] == "#!/opt/kiosk/venv/bin/python"
    assert str(root) not in (root / "opt" / "kiosk" / "venv" / "pyvenv.cfg").read_text()
    check = subprocess.run([str(root / "opt/kiosk/venv/bin/python"), "-m", "kiosk.cli", "--config",
                            str(root / "etc/kiosk/kiosk.toml"), "config", "check"], capture_output=True, text=True,
                           cwd="/", timeout=60)
    assert check.returncode == 0, check.stderr
    assert "configuration ok" in check.stdout
    # site file from the example, readable by kiosk's group only (it holds the platform token)
    site = root / "etc" / "kiosk" / "kiosk.toml"
    assert site.read_text() == (ROOT / "deploy" / "kiosk.toml.example").read_text()
    assert stat.S_IMODE(site.stat().st_mode) == 0o640 and (site.stat().st_uid, site.stat().st_gid) == (0, gid)
    assert "/dev/kiosk/idcard" in site.read_text() and "/dev/kiosk/camera" in site.read_text()
    # keys: 32 bytes, 0600, kiosk's, outside the data folder
    for key in ("outbox.key", "ledger.key"):
        path = root / "etc" / "kiosk" / key
        assert path.stat().st_size == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
        assert (path.stat().st_uid, path.stat().st_gid) == (uid, gid)
    data = root / "var" / "lib" / "kiosk"
    assert (data.stat().st_uid, stat.S_IMODE(data.stat().st_mode)) == (uid, 0o750)
    assert not list(data.iterdir())
    # units, enabled; udev rules; the console locked down
    units = root / "etc" / "systemd" / "system"
    assert os.readlink(units / "graphical.target.wants" / "kiosk.service") == "/etc/systemd/system/kiosk.service"
    assert os.readlink(units / "multi-user.target.wants" / "kiosk-sender.service").endswith("kiosk-sender.service")
    assert (units / "kiosk-fleet.service").is_file()  # installed; the touch app runs the agent, so not enabled
    assert not os.path.lexists(units / "multi-user.target.wants" / "kiosk-fleet.service")
    assert os.readlink(units / "ctrl-alt-del.target") == "/dev/null"
    assert "NAutoVTs=0" in (root / "etc/systemd/logind.conf.d/kiosk.conf").read_text()
    rules = (root / "etc" / "udev" / "rules.d" / "70-kiosk-devices.rules").read_text()
    for name in ("kiosk/idcard", "kiosk/qr", "kiosk/receipt-printer", "kiosk/camera"):
        assert f'SYMLINK+="{name}"' in rules
    assert "wrote /etc/kiosk/kiosk.toml" in first.stdout


def test_second_run_changes_nothing(installed):
    root, wheel, _, _ = installed
    before = tree_state(root)
    again = install(root, wheel)
    assert tree_state(root) == before
    assert again.stdout.strip().splitlines() == ["install.sh: done"], again.stdout


def test_upgrade_keeps_data_keys_and_the_edited_site_file(installed):
    root, wheel, work, _ = installed
    site = root / "etc" / "kiosk" / "kiosk.toml"
    site.write_text(site.read_text().replace('id = "gx-pingan-001"', 'id = "gx-xiangyang-007"'))
    data_file = root / "var" / "lib" / "kiosk" / "outbox.sqlite3"
    data_file.write_bytes(b"pending uploads")
    keys = {k: (root / "etc/kiosk" / k).read_bytes() for k in ("outbox.key", "ledger.key")}
    newer = rebuilt_as(wheel, "0.1.1", work)
    proc = install(root, newer)
    assert "installed kiosk-0.1.1" in proc.stdout
    assert 'id = "gx-xiangyang-007"' in site.read_text()
    assert data_file.read_bytes() == b"pending uploads"
    assert {k: (root / "etc/kiosk" / k).read_bytes() for k in keys} == keys
    installed_versions = [p.name for p in (root / "opt/kiosk/venv/lib").glob("python3*/site-packages/kiosk-*.dist-info")]
    assert installed_versions == ["kiosk-0.1.1.dist-info"]


def test_bad_usage_is_one_line_and_exit_2(tmp_path):
    for args, message in ((["--root", str(tmp_path / "nope")], "not a directory"),
                          (["--frobnicate"], "unknown option"),
                          (["--root", str(tmp_path), "--wheel", str(tmp_path / "x.whl")], "wheel not found")):
        proc = subprocess.run(["bash", str(INSTALL), *args], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))


def _analyze_available() -> str:
    if shutil.which("systemd-analyze") is None:
        return "systemd-analyze is not installed (make setup installs the systemd package)"
    return ""


@pytest.mark.parametrize("unit", [u.name for u in UNITS])
def test_systemd_analyze_verify(installed, unit):
    reason = _analyze_available()
    if reason:
        pytest.skip(reason)
    root = installed[0]
    if unit == "kiosk.service" and not (root / "usr/bin/cage").exists():
        pytest.skip("cage is not installed on this machine (make setup installs it): the UI unit's ExecStart")
    proc = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "--man=no", f"/etc/systemd/system/{unit}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def test_verify_finds_a_broken_unit(installed, tmp_path):
    """The check above can fail: a misspelt key and a missing program are reported."""
    if _analyze_available():
        pytest.skip(_analyze_available())
    root = installed[0]
    broken = root / "etc" / "systemd" / "system" / "kiosk-broken.service"
    broken.write_text("[Service]\nExecStrat=/opt/kiosk/venv/bin/kiosk run\nExecStart=/opt/kiosk/no-such-program\n")
    try:
        proc = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "--man=no",
                               "/etc/systemd/system/kiosk-broken.service"], capture_output=True, text=True, timeout=60)
    finally:
        broken.unlink()
    assert proc.returncode != 0 or proc.stderr.strip()
    assert "ExecStrat" in proc.stderr or "no-such-program" in proc.stderr


RULE = re.compile(r'^(?:[A-Z_]+(?:\{[^}]+\})?(?:==|!=|\+=|=|:=)"[^"]*"(?:, |$))+$')


def test_udev_rules_are_well_formed_and_name_the_four_devices():
    """Each rule line is KEY{attr}OP"value" pairs (udevadm verify comes with systemd 253, after bookworm)."""
    lines = [line.strip() for line in (ROOT / "deploy/udev/70-kiosk-devices.rules").read_text().splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules
    for line in rules:
        assert RULE.match(line), line
        if "SYMLINK" in line:
            assert re.search(r'(ID_VENDOR_ID\}|idVendor\})=="[0-9a-f]{4}"', line), line
            assert "GROUP=" in line and 'MODE="0660"' in line, line
    links = {m for line in rules for m in re.findall(r'SYMLINK\+="(kiosk/[a-z-]+)"', line)}
    assert links == {"kiosk/idcard", "kiosk/qr", "kiosk/receipt-printer", "kiosk/camera"}
    groups = {m for line in rules for m in re.findall(r'GROUP="([a-z]+)"', line)}
    assert groups <= GROUPS
