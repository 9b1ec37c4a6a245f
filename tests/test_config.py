"""Configuration: layers, and one clear line naming key and file for every kind of bad value."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_kiosk
from kiosk.config import load_config
from kiosk.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_demo_profile():
    cfg = load_config(None) if not Path("/etc/kiosk/kiosk.toml").exists() else None
    if cfg is None:
        pytest.skip("this machine has a site file")
    assert cfg.demo
    assert (cfg.screen.width, cfg.screen.height, cfg.screen.orientation) == (1080, 1920, "portrait")
    assert cfg.devices.idcard == "sim://"


def test_site_file_overrides_and_landscape(tmp_path):
    path = write(tmp_path, """
[kiosk]
id = "gx-wm-0001"
number = 42
centre_name = "平安镇便民服务中心"
[platform]
base_url = "https://platform.example.gov.cn/"
token = "secret"
[screen]
orientation = "landscape"
width = 1920
height = 1080
[devices]
idcard = "serial:///dev/ttyUSB0?baud=115200"
receipt_printer = "tcp://192.168.1.50:9100"
document_printer = "cups://A4"
[paths]
data_dir = "/var/lib/kiosk"
""")
    cfg = load_config(path)
    assert not cfg.demo
    assert cfg.kiosk.id == "gx-wm-0001" and cfg.kiosk.number == 42
    assert cfg.screen.orientation == "landscape"
    assert cfg.paths.data_dir == Path("/var/lib/kiosk")
    assert cfg.session.idle_timeout_s == 60  # untouched default survives
    assert cfg.sources[-1] == str(path)


def test_fleet_layer_wins_and_is_validated(tmp_path):
    cfg = load_config(write(tmp_path, "[session]\nidle_timeout_s = 90\n"),
                      fleet_doc={"session": {"idle_timeout_s": 120}}, fleet_name="fleet v7")
    assert cfg.session.idle_timeout_s == 120
    with pytest.raises(ConfigError, match=r"^fleet v7: session.warning_s: "):
        load_config(write(tmp_path, ""), fleet_doc={"session": {"warning_s": 500}}, fleet_name="fleet v7")


BAD = [
    ("[kiosk]\nid = \"has space\"\n", "kiosk.id"),
    ("[kiosk]\ncentre_name = \"  \"\n", "kiosk.centre_name"),
    ("[kiosk]\nlanguages = [\"zh\", \"fr\"]\n", "kiosk.languages"),
    ("[kiosk]\nlanguages = \"zh\"\n", "kiosk.languages"),
    ("[kiosk]\ndefault_language = \"en\"\nlanguages = [\"zh\"]\n", "kiosk.default_language"),
    ("[kiosk]\nhotline = \"call us\"\n", "kiosk.hotline"),
    ("[kiosk]\nnmae = \"x\"\n", "kiosk.nmae"),
    ("[kiosks]\nid = \"x\"\n", "kiosks"),
    ("kiosk = 3\n", "kiosk"),
    ("[platform]\nbase_url = \"ftp://x\"\ntoken = \"t\"\n", "platform.base_url"),
    ("[platform]\nbase_url = \"https://x.gov.cn\"\n", "platform.token"),
    ("[platform]\ntimeout_s = 0\n", "platform.timeout_s"),
    ("[platform]\nbase_url = \"https://x.gov.cn\"\ntoken = \"t\"\n", "kiosk.number"),  # required for real
    ("[kiosk]\nnumber = 10000\n", "kiosk.number"),
    ("[kiosk]\nnumber = -1\n", "kiosk.number"),
    ("[kiosk]\nnumber = \"0042\"\n", "kiosk.number"),
    ("[kiosk]\nnumber = true\n", "kiosk.number"),
    ("[kiosk]\nnumber = 4.2\n", "kiosk.number"),
    ("[platform]\ntimeout_s = true\n", "platform.timeout_s"),
    ("[screen]\norientation = \"sideways\"\n", "screen.orientation"),
    ("[screen]\norientation = \"landscape\"\n", "screen.orientation"),
    ("[screen]\nwidth = 100\n", "screen.width"),
    ("[screen]\nheight = 1920.5\n", "screen.height"),
    ("[screen]\nfullscreen = \"yes\"\n", "screen.fullscreen"),
    ("[session]\nidle_timeout_s = \"60\"\n", "session.idle_timeout_s"),
    ("[session]\nidle_timeout_s = 5\n", "session.idle_timeout_s"),
    ("[session]\nwarning_s = 60\n", "session.warning_s"),
    ("[session]\nelderly_factor = 9\n", "session.elderly_factor"),
    ("[paths]\ndata_dir = \"relative/path\"\n", "paths.data_dir"),
    ("[paths]\nlog_dir = 5\n", "paths.log_dir"),
    ("[devices]\nidcard = \"\"\n", "devices.idcard"),
    ("[devices]\ncamera = \"http://camera\"\n", "devices.camera"),
    ("[devices]\nreceipt_printer_encoding = \"big5\"\n", "devices.receipt_printer_encoding"),
    ("[devices]\nreceipt_printer_paper_mm = 76\n", "devices.receipt_printer_paper_mm"),
    ("[outbox]\nquota_mb = 0\n", "outbox.quota_mb"),
    ("[outbox]\nretention_days = -1\n", "outbox.retention_days"),
]


@pytest.mark.parametrize("text,key", BAD, ids=[k for _, k in BAD])
def test_bad_value_names_key_and_file(tmp_path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert "\n" not in message


def test_kiosk_number_defaults_to_one_in_the_demo_profile_only(tmp_path):
    assert load_config(write(tmp_path, "[session]\nidle_timeout_s = 90\n")).kiosk.number == 1
    assert load_config(write(tmp_path, "[kiosk]\nnumber = 9999\n")).kiosk.number == 9999
    real = "[kiosk]\nnumber = 7\n[platform]\nbase_url = \"https://x.gov.cn\"\ntoken = \"t\"\n"
    assert load_config(write(tmp_path, real)).kiosk.number == 7
    proc = run_kiosk("--config", str(write(tmp_path, "[kiosk]\nnumber = 0\n[platform]\nbase_url = \"https://x.gov.cn\"\n"
                                                      "token = \"t\"\n")), "config", "check")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "kiosk.number" in proc.stderr


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[kiosk\nid=1"))
    bad_utf8 = tmp_path / "latin1.toml"
    bad_utf8.write_bytes("[kiosk]\ncentre_name = \"镇\"\n".encode("gbk"))
    with pytest.raises(ConfigError, match="latin1.toml"):
        load_config(bad_utf8)
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_cli_refuses_to_start_with_one_line(tmp_path):
    path = write(tmp_path, "[session]\nidle_timeout_s = \"soon\"\n")
    proc = run_kiosk("--config", str(path), "run")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"kiosk: {path}: session.idle_timeout_s: must be a whole number, got 'soon'"
    assert "Traceback" not in proc.stderr


def test_config_check_command(tmp_path):
    good = write(tmp_path, "[kiosk]\nid = \"k-1\"\n")
    proc = run_kiosk("--config", str(good), "config", "check")
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout.lower()
    proc = run_kiosk("--config", str(good), "config", "show", "--json")
    assert proc.returncode == 0
    import json
    assert json.loads(proc.stdout)["kiosk"]["id"] == "k-1"


def test_example_site_file_is_valid():
    from conftest import ROOT
    cfg = load_config(ROOT / "deploy" / "kiosk.toml.example")
    assert cfg.kiosk.id == "gx-pingan-001" and not cfg.demo
