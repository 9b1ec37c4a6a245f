"""The voice without the UI: engine selection from the configuration, the personal-data guard,
numbers read digit by digit, printed slips' facts, screen intros, and the real espeak-ng
subprocess path (a fake espeak-ng on PATH records its arguments)."""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from kiosk.config import load_config
from kiosk.errors import ConfigError
from kiosk.i18n import STRINGS, translate
from kiosk.receipts import CertificateSlip, OneTimeNotice, RequestReceipt, SubmissionReceipt, blocks_for
from kiosk.texts.voice import INTROS
from kiosk.voice import (ENGINES, EspeakEngine, SilentEngine, Speaker, VoiceGuide, digits_in_groups,
                         holder_strings, make_engine, receipt_speech, spoken_name, unspeakable)
from devices.receipt_printer.profiles import get_profile
from test_ui_voice import install_fake_espeak

ID_NUMBER = "11010519491231002X"
NAME = "欧阳春花"


class Holder:
    """What kiosk.identity.CardHolder offers the guard."""

    name, name_en, address, wiped = NAME, "", "广西壮族自治区桂林市资源县车田苗族乡石溪头村12号", False
    id_number = ID_NUMBER


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# ---- engine selection ------------------------------------------------------------------------------
def test_engines_are_chosen_by_name_and_a_bad_name_is_refused_in_one_line(tmp_path):
    assert isinstance(make_engine("espeak-ng", 120), EspeakEngine) and make_engine("espeak-ng", 120).rate == 120
    assert isinstance(make_engine("none"), SilentEngine)
    with pytest.raises(ValueError):
        make_engine("festival")
    assert load_config(None).voice.engine == "espeak-ng"
    site = tmp_path / "kiosk.toml"
    site.write_text('[voice]\nengine = "none"\nrate = 120\n', encoding="utf-8")
    cfg = load_config(site)
    assert (cfg.voice.engine, cfg.voice.rate) == ("none", 120)
    for body, key in (('engine = "festival"', "voice.engine"), ("rate = 1000", "voice.rate"),
                      ("engine = 3", "voice.engine"), ('volume = 3', "voice.volume")):
        site.write_text(f"[voice]\n{body}\n", encoding="utf-8")
        with pytest.raises(ConfigError) as failure:
            load_config(site)
        message = str(failure.value)
        assert key in message and "\n" not in message
    assert set(ENGINES) >= {"espeak-ng", "none"}


def test_a_missing_engine_costs_one_log_line_and_never_a_crash(caplog):
    caplog.set_level(logging.WARNING, logger="kiosk.voice")
    speaker = Speaker(EspeakEngine(program=""))
    for _ in range(3):
        assert speaker.say("请放上身份证") is True
    speaker.stop()
    assert speaker.spoken == ["请放上身份证"] * 3 and speaker._thread is None
    assert len([r for r in caplog.records if "not available" in r.getMessage()]) == 1


class BrokenEngine:
    name = "broken"

    def available(self) -> bool:
        return True

    def speak(self, text: str, lang: str) -> None:
        raise OSError("no sound card")

    def stop(self) -> None:
        pass


def test_an_engine_that_fails_while_speaking_is_logged_and_the_kiosk_goes_on(caplog):
    caplog.set_level(logging.WARNING, logger="kiosk.voice")
    speaker = Speaker(BrokenEngine())
    assert speaker.say("一") and speaker.say("二")
    wait_for(lambda: len([r for r in caplog.records if "could not speak" in r.getMessage()]) == 2)
    speaker.stop()


# ---- the guard -------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    f"您的身份证号是{ID_NUMBER}", "身份证 110105194912310021", "旧身份证110105491231002",
    "1101 0519 4912 3100 2X", "110105-19491231-002X", "一一〇一〇五一九四九一二三一〇〇二X", "手机13912345678", "电话 139-1234-5678",
    "幺三九一二三四五六七八", "+8613912345678",
])
def test_the_guard_refuses_id_numbers_and_phones_in_full_however_they_are_written(text):
    assert unspeakable(text)


@pytest.mark.parametrize("text", [
    "请拨打12345", "回执编号：Z W，二零二六，一二零一，零零零，零四二", "请在2026年12月1日 09:30前来",
    "手机尾号5678", "138****1234", "110105********002X", "承诺时限：20个工作日", "您好，欧某",
    "ZW0042261201-73920155", "回执编号：Z W，零零四二，二六一，二零一，七三九二，零一五五",
])
def test_the_guard_lets_ordinary_prompts_through(text):
    assert unspeakable(text) == ""


def test_the_holders_name_address_and_number_are_refused_and_names_pass_only_masked(caplog):
    caplog.set_level(logging.WARNING, logger="kiosk.voice")
    personal = holder_strings(Holder())
    speaker = Speaker(SilentEngine(), personal=lambda: personal)
    assert speaker.say(f"您好，{NAME}") is False
    assert speaker.say("春花，请取走身份证") is False                  # the given name alone is the name
    assert speaker.say("您住在广西壮族自治区桂林市资源县车田苗族乡石溪头村12号") is False
    assert speaker.say(f"您好，{spoken_name(NAME)}") is True and speaker.spoken == ["您好，欧某"]
    assert speaker.refused == 3
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert NAME not in logged and "春花" not in logged and ID_NUMBER not in logged and "石溪头" not in logged
    assert holder_strings(None) == []
    wiped = Holder()
    wiped.wiped = True
    assert holder_strings(wiped) == []


def test_a_guard_that_cannot_tell_what_is_personal_says_nothing():
    def broken():
        raise RuntimeError("session gone")
    speaker = Speaker(SilentEngine(), personal=broken)
    assert speaker.say("请放上身份证") is False and speaker.spoken == []


# ---- numbers and slips ---------------------------------------------------------------------------
def test_numbers_are_read_one_by_one_in_even_groups():
    assert digits_in_groups("ZW20261201-000042") == "Z W，二零二六，一二零一，零零零，零四二"
    assert digits_in_groups("ZW20261201-000042", "en") == \
        "Z W, two zero two six, one two zero one, zero zero zero, zero four two"
    assert digits_in_groups("ZM2026000123") == "Z M，二零二六，零零零，一二三"
    assert digits_in_groups("K7Q2-9XXM") == "K 七 Q 二，九 X X M"
    assert digits_in_groups("ZW0042261201-73920155") == "Z W，零零四二，二六一，二零一，七三九二，零一五五"
    assert digits_in_groups(ID_NUMBER) == "" and digits_in_groups("13912345678") == ""
    assert digits_in_groups("110105-19491231-002X") == ""


def test_a_printed_slip_says_what_it_is_its_number_and_what_to_do_never_who():
    profile = get_profile()
    receipt = SubmissionReceipt(receipt_no="ZW20261201-000042", item_name="城乡居民养老保险参保登记",
                                submitted_at="2026-12-01T10:00", lookup_url="https://example.invalid/p/x",
                                applicant=NAME, department="县人社局", time_limit_days=5)
    said = receipt_speech(blocks_for(receipt, profile))
    assert said.startswith("受理回执已打印。回执编号：Z W，二零二六，一二零一，零零零，零四二。")
    assert "办理事项：城乡居民养老保险参保登记" in said and "领取方式：窗口领取" in said and "请妥善保管本回执" in said
    assert "申请人" not in said and "欧" not in said and "2026-12-01" not in said
    english = receipt_speech(blocks_for(receipt, profile), "en")
    assert english == "Your receipt is printed. Number: Z W, two zero two six, one two zero one, zero zero zero, zero four two."
    slip = CertificateSlip(certificate_name="无犯罪记录证明", verification_code="K7Q2-9XXM",
                           printed_at="2026-12-01T10:00", holder=NAME)
    said = receipt_speech(blocks_for(slip, profile))
    assert "证明名称：无犯罪记录证明" in said and "验证码：K 七 Q 二，九 X X M" in said and "持证人" not in said
    request = RequestReceipt(request_no="SQ20261201-0007", kind="door", submitted_at="2026-12-01T10:00",
                             contact_phone="13912345678", preferred_time="12月2日上午")
    said = receipt_speech(blocks_for(request, profile))
    assert "上门办" in said and "预约时间：12月2日上午" in said and "5678" not in said and "联系电话" not in said
    notice = OneTimeNotice(item_name="城乡居民养老保险参保登记", printed_at="2026-12-01T10:00")
    assert receipt_speech(blocks_for(notice, profile)).startswith("一次性告知单已打印。办理事项：城乡居民养老保险参保登记。")
    for said in (receipt_speech(blocks_for(r, profile)) for r in (receipt, slip, request, notice)):
        assert unspeakable(said, holder_strings(Holder())) == ""


# ---- intros ----------------------------------------------------------------------------------------
def kv_screens() -> dict[str, str]:
    """Screen name → its class, from the rules of screens/*.kv (``<XScreen>:`` with ``name: '…'``)."""
    screens = {}
    for path in (ROOT / "screens").glob("*.kv"):
        rule = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("<") and line.rstrip().endswith(">:"):
                rule = line.strip()[1:-2]
            elif rule.endswith("Screen") and line.startswith("    name: "):
                screens[line.split(":", 1)[1].strip().strip("'\"")] = rule
    return screens


def classes_declaring_an_intro() -> set[str]:
    found = set()
    for path in (ROOT / "screens").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^class (\w+)\(.*?(?=^class |\Z)", text, re.S | re.M):
            if re.search(r"^\s+voice_intro\s*=", match.group(0), re.M):
                found.add(match.group(1))
    return found


def test_every_intro_is_a_text_in_both_languages_and_every_kv_screen_has_one():
    for name, key in INTROS.items():
        assert key in STRINGS, name
        zh, en = translate(key, "zh", hotline="12345"), translate(key, "en", hotline="12345")
        assert zh and en and zh != en and not unspeakable(zh) and "{" not in zh + en
    screens = kv_screens()
    assert {"attract", "home", "submit", "service"} <= set(screens)
    declared = classes_declaring_an_intro()
    missing = sorted(name for name, cls in screens.items() if name not in INTROS and cls not in declared)
    assert not missing, f"screens without a spoken intro (voice_intro = 'key' on the class): {missing}"


class FakeScreen:
    def __init__(self, name: str, step: str = "", voice_intro: str = "", voice_intros: dict | None = None):
        self.name, self.step, self.voice_intro, self.voice_intros = name, step, voice_intro, voice_intros


def test_the_guide_picks_a_steps_intro_a_declared_one_or_the_screens():
    speaker = Speaker(SilentEngine())
    guide = VoiceGuide(speaker, translate)
    assert guide.intro_key(FakeScreen("submit", "materials")) == "voice_submit_materials"
    assert guide.intro_key(FakeScreen("submit", "choose")) == "voice_submit"
    assert guide.intro_key(FakeScreen("appointments", voice_intro="voice_home")) == "voice_home"
    assert guide.intro_key(FakeScreen("nowhere")) == ""
    steps = {"pay": "voice_rating"}
    assert guide.intro_key(FakeScreen("payment", "pay", "voice_home", steps)) == "voice_rating"
    assert guide.intro_key(FakeScreen("payment", "done", "voice_home", steps)) == "voice_home"
    guide.screen_shown(FakeScreen("home"), "zh", elderly=False)
    assert speaker.spoken == []
    guide.screen_shown(FakeScreen("home"), "zh", elderly=True)
    guide.read_aloud(FakeScreen("rating"), "en")
    guide.label("  好差评\n", "zh")
    assert speaker.spoken == [translate("voice_home", "zh"), translate("voice_rating", "en"), "好差评"]


# ---- the real subprocess path ------------------------------------------------------------------------
def test_espeak_ng_is_run_with_the_mandarin_voice_the_rate_and_the_text(tmp_path, monkeypatch):
    bin_dir = install_fake_espeak(tmp_path)
    log = tmp_path / "espeak.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_ESPEAK_LOG", str(log))
    engine = make_engine("espeak-ng", 130)
    assert engine.program == str(bin_dir / "espeak-ng")
    speaker = Speaker(engine, personal=lambda: holder_strings(Holder()))
    assert speaker.say("请放上身份证") and speaker.say("Touch the screen", "en")
    assert not speaker.say(f"您好{NAME}")
    wait_for(lambda: log.exists() and len(log.read_text(encoding="utf-8").splitlines()) == 2)
    speaker.stop()
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert calls == [["-v", "cmn-latn-pinyin", "-s", "130", "--", "请放上身份证"],
                     ["-v", "en", "-s", "130", "--", "Touch the screen"]]


def test_without_the_pinyin_voice_plain_cmn_is_used(tmp_path):
    program = tmp_path / "espeak-ng"
    program.write_text(f"#!{sys.executable}\nimport sys\nprint('Pty Language Age/Gender VoiceName File')\n"
                       "print(' 5  cmn  --/M  Chinese  sit/cmn')\n", encoding="utf-8")
    program.chmod(0o755)
    assert EspeakEngine(str(program)).voice("zh") == "cmn"


def test_the_real_espeak_ng_is_installed_and_has_a_mandarin_voice():
    engine = EspeakEngine()
    if not engine.available():
        pytest.skip("espeak-ng not installed (make setup installs it)")
    assert engine.voice("zh").startswith("cmn")


def test_interrupting_stops_the_prompt_in_progress(tmp_path):
    program = tmp_path / "espeak-ng"
    marks = tmp_path / "marks"
    program.write_text(f"#!{sys.executable}\nimport sys, time\nif sys.argv[1].startswith('--voices'): sys.exit(0)\n"
                       f"open({str(marks)!r}, 'a').write(sys.argv[-1] + '\\n')\ntime.sleep(30)\n", encoding="utf-8")
    program.chmod(0o755)
    speaker = Speaker(EspeakEngine(str(program)))
    speaker.say("第一段很长的话")
    speaker.say("第二段")
    wait_for(lambda: marks.exists() and "第一段" in marks.read_text(encoding="utf-8"))
    speaker.say("新的页面", interrupt=True)     # a new screen: the queue is dropped, the long prompt cut
    wait_for(lambda: "新的页面" in marks.read_text(encoding="utf-8"))
    assert "第二段" not in marks.read_text(encoding="utf-8")
    speaker.stop()


def test_a_printed_slip_is_read_aloud_through_the_shell_and_a_failed_print_is_not(tmp_path):
    from flow_fakes import FakeReceiptPrinter, make_kiosk
    from kiosk.flows.base import Devices, Flow

    printer = FakeReceiptPrinter()
    k = make_kiosk(tmp_path, devices=Devices(printer=printer))
    said = []
    k.shell.speak = lambda key, **values: said.append(k.shell.text(key, **values))   # elderly mode's speak
    receipt = SubmissionReceipt(receipt_no="ZW0042261201-73920155", item_name="城乡居民养老保险参保登记",
                                submitted_at="2026-12-01T10:00", lookup_url="https://example.invalid/p/x",
                                applicant=NAME)
    assert Flow(k.ctx).print_receipt(receipt, on_done=lambda result: None)
    assert said == [receipt_speech(blocks_for(receipt, printer.profile))]
    assert "七三九二，零一五五" in said[0] and "欧" not in said[0]
    printer.ok = False
    Flow(k.ctx).print_receipt(receipt, on_done=lambda result: None)
    assert len(said) == 1


def test_kiosk_doctor_says_whether_the_kiosk_can_speak(tmp_path, monkeypatch):
    from dataclasses import replace

    from kiosk.voice import doctor_check

    cfg = load_config(None)
    assert doctor_check(replace(cfg, voice=replace(cfg.voice, engine="none"))).status == "skip"
    bin_dir = install_fake_espeak(tmp_path)
    monkeypatch.setenv("PATH", str(bin_dir))
    result = doctor_check(cfg)
    assert result.status == "ok" and result.data["voice"] == "cmn-latn-pinyin", result
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    result = doctor_check(cfg)
    assert result.status == "warn" and "not installed" in result.summary_en


def test_what_was_said_is_kept_only_recently():
    speaker = Speaker(SilentEngine())
    for n in range(Speaker.KEEP_SPOKEN * 3):
        speaker.say(f"第{n}条")
    assert len(speaker.spoken) <= Speaker.KEEP_SPOKEN and speaker.spoken[-1] == f"第{Speaker.KEEP_SPOKEN * 3 - 1}条"
