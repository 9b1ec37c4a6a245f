"""Spoken prompts for citizens who cannot read the screen well (elderly mode, 读给我听, forgotten cards).

Three parts, none of them Kivy:

* ``TtsEngine``: what turns text into sound. ``EspeakEngine`` (espeak-ng's Mandarin voice) is
  today's; a better Mandarin engine implements the same three methods and is added to ``ENGINES``
  (chosen by ``[voice] engine`` in the configuration). ``SilentEngine`` ("none") speaks nothing.
* ``Speaker``: a queue and a thread in front of the engine. ``say()`` never blocks and never
  raises; a missing engine costs one log line. Before anything is queued the personal-data guard
  (``unspeakable``) refuses text holding an ID number, a mobile number in full or the name, ID
  number or address of the card read in this visit. ``spoken`` keeps what was accepted, so the UI
  tests can check what the kiosk said without listening to it.
* ``VoiceGuide``: what each screen says -- its intro on entry in elderly mode, the same on the
  读给我听 button in any mode, a button's label when it is touched and held -- and the key facts
  of a printed slip (``receipt_speech``). Names reach speech only through ``spoken_name`` (张某).
"""
from __future__ import annotations

import logging
import queue
import re
import shutil
import subprocess
import threading
from typing import Any, Callable, Iterable, Protocol

log = logging.getLogger(__name__)

DEFAULT_ENGINE = "espeak-ng"
DEFAULT_RATE = 140          # words per minute; slower than espeak-ng's 175, for older listeners


# ---- engines ----------------------------------------------------------------------------------
class TtsEngine(Protocol):
    """Text to sound. ``speak`` runs on the Speaker's thread and may block until the text is spoken."""

    name: str

    def available(self) -> bool: ...                 # can it speak on this machine (program, voice data)?
    def speak(self, text: str, lang: str) -> None: ...  # lang: "zh" (Mandarin) or "en"; raises OSError on failure
    def stop(self) -> None: ...                      # cut the utterance in progress short (any thread)


class EspeakEngine:
    """espeak-ng, one process per utterance. Mandarin uses espeak-ng's ``cmn`` voice family:
    ``cmn-latn-pinyin`` where installed (the plain ``cmn`` voice of espeak-ng 1.51 reads the tone
    digits of its own pinyin as English numbers), else ``cmn``."""

    name = "espeak-ng"
    MANDARIN = ("cmn-latn-pinyin", "cmn")
    TIMEOUT_S = 60

    def __init__(self, program: str | None = None, rate: int = DEFAULT_RATE):
        self.program = program if program is not None else (shutil.which("espeak-ng") or "")
        self.rate = rate
        self._mandarin: str | None = None
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def available(self) -> bool:
        return bool(self.program)

    def voice(self, lang: str) -> str:
        if lang == "en":
            return "en"
        if self._mandarin is None:
            self._mandarin = self._find_mandarin()
        return self._mandarin

    def mandarin_voices(self) -> set[str]:
        """The Mandarin voices espeak-ng lists here (empty: none, or no espeak-ng)."""
        try:
            listed = subprocess.run([self.program, "--voices=cmn"], capture_output=True, text=True,
                                    timeout=10, check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            listed = ""
        return {line.split()[1] for line in listed.splitlines()[1:] if len(line.split()) > 1}

    def _find_mandarin(self) -> str:
        names = self.mandarin_voices()
        return next((v for v in self.MANDARIN if v in names), "cmn")

    def speak(self, text: str, lang: str) -> None:
        command = [self.program, "-v", self.voice(lang), "-s", str(self.rate), "--", text]
        with self._lock:
            self._proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
        try:
            self._proc.wait(timeout=self.TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
            raise OSError(f"espeak-ng took longer than {self.TIMEOUT_S} s") from None
        finally:
            with self._lock:
                self._proc = None

    def stop(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.terminate()


class SilentEngine:
    """No sound (``[voice] engine = "none"``): prompts are still checked and recorded."""

    name = "none"

    def available(self) -> bool:
        return True

    def speak(self, text: str, lang: str) -> None:
        pass

    def stop(self) -> None:
        pass


ENGINES: dict[str, Callable[..., TtsEngine]] = {"espeak-ng": EspeakEngine, "none": SilentEngine}


def make_engine(name: str = DEFAULT_ENGINE, rate: int = DEFAULT_RATE) -> TtsEngine:
    """The engine called ``name`` (a key of ``ENGINES``; the configuration checks it first)."""
    if name not in ENGINES:
        raise ValueError(f"unknown voice engine {name!r} (known: {', '.join(ENGINES)})")
    factory = ENGINES[name]
    return factory(rate=rate) if factory is EspeakEngine else factory()


def doctor_check(cfg: Any) -> Any:
    """``kiosk doctor``'s line on the voice: the configured engine and, for espeak-ng, a Mandarin voice."""
    from kiosk.operate.checks import OK, SKIP, WARN, CheckResult

    engine = make_engine(cfg.voice.engine, cfg.voice.rate)
    data = {"engine": engine.name}
    if isinstance(engine, SilentEngine):
        return CheckResult("voice", SKIP, "voice off (voice.engine = none)", "语音已关闭", data, "system")
    if not engine.available():
        return CheckResult("voice", WARN, f"{engine.name} is not installed: the kiosk does not speak",
                           f"未安装{engine.name}，终端不能说话", data, "system")
    if isinstance(engine, EspeakEngine):
        voices = engine.mandarin_voices()
        data["voices"] = sorted(voices)
        if not voices:
            return CheckResult("voice", WARN, "espeak-ng has no Mandarin (cmn) voice: prompts are not spoken well",
                               "espeak-ng 没有普通话语音", data, "system")
        data["voice"] = engine.voice("zh")
    return CheckResult("voice", OK, f"{engine.name} speaks Mandarin ({data.get('voice', 'zh')})",
                       "语音正常（普通话）", data, "system")


# ---- the personal-data guard ----------------------------------------------------------------------
_CHINESE_DIGITS = str.maketrans("零〇一二三四五六七八九幺两", "0012345678912")
_JOINERS = re.compile(r"(?<=[0-9])[\s\-－]+(?=[0-9Xx])")   # 1101 0519 …, 139-1234-5678
# never glued to a letter: a receipt number (ZW0042261201-73920155) is not an ID number
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86)?1[3-9][0-9]{9}(?![0-9A-Za-z])")


def _digits_view(text: str) -> str:
    """``text`` with Chinese numerals as digits and the spaces and hyphens between digits taken
    out, so that 一一〇一〇五… and 1101 0519 … look like the numbers they are."""
    return _JOINERS.sub("", text.translate(_CHINESE_DIGITS))


def unspeakable(text: str, personal: Iterable[str] = ()) -> str:
    """Why ``text`` must not be spoken ('' when it may): an ID number (15 or 18 digits, the last
    may be X), a mobile number in full, or one of ``personal`` (the visit's name, ID number, address)."""
    view = _digits_view(text)
    if _ID_NUMBER.search(view):
        return "an ID number"
    if _MOBILE.search(view):
        return "a phone number"
    for value in personal:
        if value and (value in text or (len(value) >= 6 and _digits_view(value) in view)):
            return "the card holder's personal data"
    return ""


def holder_strings(holder: Any) -> list[str]:
    """What of a card holder must never be spoken: the name (and the given name), the English
    name, the address and the ID number. ``holder``: a kiosk.identity.CardHolder or None."""
    if holder is None or getattr(holder, "wiped", False):
        return []
    values: list[str] = []
    name = (getattr(holder, "name", None) or "").strip()
    if name:
        values.append(name)
        if len(name) >= 3:
            values.append(name[1:])        # the given name alone is the name too
        if len(name) >= 4:
            values.append(name[2:])        # ... after a compound surname (欧阳, 司马)
    for attr in ("name_en", "address"):
        value = (getattr(holder, attr, None) or "").strip()
        if value:
            values.append(value)
    try:
        number = holder.id_number
    except Exception:  # wiped meanwhile, or not a card holder
        number = ""
    if number:
        values.append(str(number))
    return values


def spoken_name(name: str | None) -> str:
    """The only way a name reaches speech: ``张三丰`` → ``张某`` (the surname and 某, as Chinese
    notices write it); compound surnames lose their second character too, which is fine."""
    name = (name or "").strip()
    return f"{name[0]}某" if name else ""


_DIGIT_WORDS = {"zh": dict(zip("0123456789", "零一二三四五六七八九")),
                "en": dict(zip("0123456789", ("zero", "one", "two", "three", "four", "five", "six", "seven",
                                               "eight", "nine")))}


def _even_groups(run: str, group: int) -> list[str]:
    """``run`` cut into as few groups of at most ``group`` as possible, as even as possible (10 → 4 3 3)."""
    count = -(-len(run) // group)
    base, extra = divmod(len(run), count)
    sizes = [base + 1] * extra + [base] * (count - extra)
    out, at = [], 0
    for size in sizes:
        out.append(run[at:at + size])
        at += size
    return out


def digits_in_groups(number: str, lang: str = "zh", group: int = 4) -> str:
    """A receipt number read one character at a time, in groups: ``ZW20261201-000042`` →
    ``Z W，二零二六，一二零一，零零零，零四二``. Letters are spelled, digits named; a run of digits
    longer than ``group`` is cut into even groups; a code mixing letters and digits (``K7Q2``) is
    spelled in groups of ``group``. An ID number or a mobile number in full gives ''."""
    if unspeakable(number):
        return ""
    words = _DIGIT_WORDS.get(lang, _DIGIT_WORDS["zh"])
    joiner = " " if lang == "en" else ""

    def say(chunk: str) -> str:
        spelled = [words.get(c, c.upper()) for c in chunk]
        if lang == "en" or not chunk.isdigit():
            return " ".join(spelled)
        return joiner.join(spelled)

    pieces: list[str] = []
    for token in re.findall(r"[A-Za-z0-9]+", number):
        runs = re.findall(r"[A-Za-z]+|[0-9]+", token)
        if len(runs) <= 2 and runs[-1].isdigit():        # ZW20261201, 000042: letters, then digits
            if len(runs) == 2:
                pieces.append(say(runs[0]))
            pieces.extend(say(chunk) for chunk in _even_groups(runs[-1], group))
        else:                                            # K7Q2, 9XXM: spelled as they stand
            pieces.extend(say(chunk) for chunk in _even_groups(token, group))
    return (", " if lang == "en" else "，").join(pieces)


# ---- the speaker --------------------------------------------------------------------------------
class Speaker:
    """Queues prompts for the engine's thread; ``say`` never blocks and never raises."""

    KEEP_SPOKEN = 1000

    def __init__(self, engine: TtsEngine | None = None, enabled: bool = True,
                 personal: Callable[[], Iterable[str]] = lambda: ()):
        self.engine: TtsEngine = engine if engine is not None else EspeakEngine()
        self.enabled = enabled
        self.personal = personal
        self.spoken: list[str] = []      # what was accepted, in order (the UI tests read it)
        self.refused = 0                 # prompts the guard refused
        self._queue: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.usable = self.engine.available()
        if enabled and not self.usable:
            log.warning("voice engine %s is not available: the kiosk will not speak", self.engine.name)

    def say(self, text: str, lang: str = "zh", interrupt: bool = False) -> bool:
        """Queue ``text`` (``interrupt``: drop what is queued and cut the current prompt short, as a
        new screen does). False when the guard refused it (logged without the text)."""
        text = (text or "").strip()
        if not text:
            return False
        try:
            personal = list(self.personal())
        except Exception:
            log.exception("could not tell what is personal in this visit: not speaking")
            personal = None
        reason = "personal data unknown" if personal is None else unspeakable(text, personal)
        if reason:
            self.refused += 1
            log.warning("refused to speak a prompt: it holds %s", reason)
            return False
        self.spoken.append(text)
        if len(self.spoken) > self.KEEP_SPOKEN:     # a kiosk runs for months: keep the recent ones
            del self.spoken[:self.KEEP_SPOKEN // 2]
        if not (self.enabled and self.usable):
            return True
        if interrupt:
            self.hush()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="kiosk-voice", daemon=True)
            self._thread.start()
        self._queue.put((text, lang))
        return True

    def hush(self) -> None:
        """Forget what is queued and stop the prompt being spoken."""
        try:
            while True:
                if self._queue.get_nowait() is None:
                    self._queue.put(None)
                    break
        except queue.Empty:
            pass
        try:
            self.engine.stop()
        except Exception:
            log.exception("could not stop the voice engine")

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            text, lang = job
            try:
                self.engine.speak(text, lang)
            except Exception as exc:  # a broken engine must not take the kiosk with it
                log.warning("could not speak a prompt: %s", exc)

    def stop(self) -> None:
        if self._thread is not None:
            self.hush()
            self._queue.put(None)


# ---- what the screens say --------------------------------------------------------------------------
class VoiceGuide:
    """What each screen says. A screen declares its intro with a class attribute
    ``voice_intro = "text_key"`` (or its name is in ``kiosk.texts.voice.INTROS``); a screen with
    steps (a ``step`` property) may add ``voice_intros = {"step": "text_key"}`` on its class (or
    ``INTROS["screen.step"]``). ``text(key, lang)`` gives a UI text (kiosk.i18n.translate)."""

    def __init__(self, speaker: Speaker, text: Callable[..., str]):
        self.speaker = speaker
        self.text = text

    @staticmethod
    def intro_key(screen: Any) -> str:
        from kiosk.texts.voice import INTROS

        name = getattr(screen, "name", "")
        step = getattr(screen, "step", "")
        by_step = getattr(screen, "voice_intros", None) or {}
        if step and (step in by_step or f"{name}.{step}" in INTROS):
            return by_step.get(step) or INTROS[f"{name}.{step}"]
        return getattr(screen, "voice_intro", "") or INTROS.get(name, "")

    def intro(self, screen: Any, lang: str, **values: Any) -> str:
        key = self.intro_key(screen)
        return self.text(key, lang, **values) if key else ""

    def screen_shown(self, screen: Any, lang: str, elderly: bool, **values: Any) -> None:
        """A screen (or a step of one) came up: in elderly mode, say what it is and what to do."""
        if elderly:
            self.speaker.say(self.intro(screen, lang, **values), lang, interrupt=True)

    def read_aloud(self, screen: Any, lang: str, **values: Any) -> bool:
        """读给我听: the screen's intro, in any mode."""
        return self.speaker.say(self.intro(screen, lang, **values), lang, interrupt=True)

    def label(self, text: str, lang: str) -> bool:
        """A button touched and held says what it is (line breaks and padding taken out)."""
        return self.speaker.say(" ".join((text or "").split()), lang, interrupt=True)


# ---- printed slips ---------------------------------------------------------------------------------
# Fields of a printed slip that are read aloud (by label, in this order of preference); numbers are
# read digit by digit. Anything personal (申请人, 持证人, 联系电话, 地址 …) never is.
_NUMBER_LABELS = ("编号", "单号", "订单号", "验证码", "流水号")
_FACT_LABELS = ("事项", "名称", "类型", "领取", "预约时间", "办理时间", "时间段", "地点", "窗口", "时限", "金额")
_NEVER_LABELS = ("申请人", "持证人", "联系", "电话", "手机", "姓名", "身份证", "证件号", "地址", "住址", "收件",
                 "终端", "打印", "提交时间", "依据", "部门", "编码")
_ENGLISH_TITLES = {"受理回执": "Your receipt", "一次性告知单": "The checklist of what to bring",
                   "证明打印凭条": "Your certificate slip", "服务申请回执": "Your request receipt"}


def receipt_facts(blocks: Iterable[Any]) -> tuple[str, list[tuple[str, str, bool]], str]:
    """From a slip's layout blocks (kiosk.receipts.blocks_for): its title, the fields worth
    saying as (label, value, is_number), and its last instruction to the citizen ('请…')."""
    title, facts, advice = "", [], ""
    for block in blocks:
        kind = type(block).__name__
        if kind == "Text" and not title:
            title = str(getattr(block, "text", "")).strip()
        elif kind == "Field":
            label = str(getattr(block, "label", "")).strip()
            value = str(getattr(block, "value", "")).strip()
            if not value or any(word in label for word in _NEVER_LABELS):
                continue
            if any(word in label for word in _NUMBER_LABELS):
                facts.append((label, value, True))
            elif any(word in label for word in _FACT_LABELS):
                facts.append((label, value, False))
        elif kind == "Text" and str(getattr(block, "text", "")).startswith("请"):
            advice = str(block.text).strip()
    return title, facts, advice


def receipt_speech(blocks: Iterable[Any], lang: str = "zh") -> str:
    """What is said once a slip is printed: what it is, the facts on it (numbers digit by digit in
    groups), and what to do with it. In English the slip's Chinese wording is not read; its
    number is. Never anything personal: those fields are skipped, and the guard checks the rest."""
    title, facts, advice = receipt_facts(blocks)
    if lang == "en":
        parts = [f"{_ENGLISH_TITLES.get(title, 'Your slip')} is printed."]
        parts += [f"Number: {digits_in_groups(value, 'en')}." for label, value, is_number in facts
                  if is_number and digits_in_groups(value, "en")]
        return " ".join(parts)
    parts = [f"{title}已打印" if title else "已打印"]
    for label, value, is_number in facts:
        if is_number:
            value = digits_in_groups(value)
            if not value:
                continue
        if not unspeakable(value):
            parts.append(f"{label}：{value}")
    if advice:
        parts.append(advice.rstrip("。"))
    return "。".join(parts) + "。"
