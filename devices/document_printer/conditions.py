"""What a print queue and a print job say, in IPP's own words, and what that means for a citizen.

CUPS reports a printer as ``idle``, ``processing`` or ``stopped`` (IPP ``printer-state`` 3/4/5)
with ``printer-state-reasons`` keywords such as ``media-empty-error`` or ``offline-report``; a job
goes pending → processing → completed, or ends ``aborted``/``canceled``, or waits
``processing-stopped`` while its printer is stuck. This module turns those words into one state
and a Chinese and English sentence; it does no I/O, so every mapping is tested without a printer.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class QueueState(str, enum.Enum):
    IDLE = "idle"
    PROCESSING = "processing"
    STOPPED = "stopped"
    UNREACHABLE = "unreachable"  # no CUPS server answered
    MISSING = "missing"  # the server answered but has no such queue


class JobState(enum.IntEnum):
    """IPP ``job-state`` values (RFC 8011 §5.3.7)."""

    PENDING = 3
    HELD = 4
    PROCESSING = 5
    STOPPED = 6  # processing-stopped: the printer stopped while printing it
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9

    @property
    def finished(self) -> bool:
        return self >= JobState.CANCELED


# keyword (without -error/-warning/-report) -> (Chinese, English). Order matters: the first
# matching reason of a printer names its condition.
REASON_TEXT: dict[str, tuple[str, str]] = {
    "media-jam": ("打印机卡纸", "paper jam"),
    "media-empty": ("打印机缺纸", "out of paper"),
    "media-needed": ("打印机需要装纸", "paper needed"),
    "input-tray-missing": ("纸盒未装好", "paper tray missing"),
    "cover-open": ("打印机盖板打开", "cover open"),
    "door-open": ("打印机舱门打开", "door open"),
    "toner-empty": ("墨粉已用尽", "toner empty"),
    "marker-supply-empty": ("墨粉已用尽", "toner empty"),
    "offline": ("打印机离线", "printer offline"),
    "shutdown": ("打印机已关闭", "printer shut down"),
    "paused": ("打印队列已暂停", "queue paused (stopped)"),
    "connecting-to-device": ("正在连接打印机", "connecting to the printer"),
    "media-low": ("纸张将尽", "paper low"),
    "toner-low": ("墨粉不足", "toner low"),
    "marker-supply-low": ("墨粉不足", "toner low"),
}

# reasons that stop a print whatever their suffix says (CUPS reports offline as "offline-report")
BLOCKING = {"media-jam", "media-empty", "media-needed", "input-tray-missing", "cover-open", "door-open",
            "toner-empty", "marker-supply-empty", "offline", "shutdown", "paused"}

# texts of the kiosk's own failure codes (not IPP keywords)
FAILURE_TEXT: dict[str, tuple[str, str]] = {
    "unreachable": ("无法连接打印服务", "the print service does not answer"),
    "missing": ("打印队列不存在", "no such print queue"),
    "not-accepting": ("打印队列暂停接收任务", "the queue is not accepting jobs"),
    "stopped": ("打印机已停止", "the printer stopped"),
    "rejected": ("打印任务被拒绝", "the print service refused the job"),
    "aborted": ("打印任务被中止", "the job was aborted"),
    "canceled": ("打印任务已取消", "the job was cancelled"),
    "timeout": ("打印超时，任务已取消", "the job took too long and was cancelled"),
    "not-pdf": ("文件不是 PDF", "the document is not a PDF"),
    "driver-stopped": ("打印驱动已停止", "the printer driver was stopped"),
    "no-answer": ("打印驱动无响应", "the printer driver did not answer in time"),
}


def base_reason(keyword: str) -> str:
    """``media-empty-error`` -> ``media-empty``: IPP adds a severity suffix to most reasons."""
    for suffix in ("-error", "-warning", "-report"):
        if keyword.endswith(suffix):
            return keyword[: -len(suffix)]
    return keyword


def severity(keyword: str) -> str:
    if keyword.endswith("-error"):
        return "error"
    if keyword.endswith("-warning"):
        return "warning"
    return "report"


def reason_text(keyword: str) -> tuple[str, str]:
    base = base_reason(keyword)
    if base in REASON_TEXT:
        return REASON_TEXT[base]
    if base in FAILURE_TEXT:
        return FAILURE_TEXT[base]
    return ("打印机故障（" + keyword + "）", f"printer problem ({keyword})")


def normalise_reasons(value) -> tuple[str, ...]:
    """pycups gives one keyword as a string and several as a list; ``none`` means no reason."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    return tuple(str(k) for k in items if k and k != "none")


@dataclass(frozen=True)
class QueueCondition:
    """One answer about a queue: its state, its reasons, whether it takes jobs."""

    state: QueueState
    reasons: tuple[str, ...] = ()
    accepting: bool = True
    message: str = ""  # printer-state-message, as the server said it (English, for technicians)
    queued_jobs: int = 0

    @property
    def answered(self) -> bool:
        return self.state is not QueueState.UNREACHABLE

    @property
    def blocking_reasons(self) -> tuple[str, ...]:
        return tuple(r for r in self.reasons if severity(r) == "error" or base_reason(r) in BLOCKING)

    @property
    def warnings(self) -> tuple[str, ...]:
        blocking = self.blocking_reasons
        return tuple(r for r in self.reasons if r not in blocking and severity(r) == "warning")

    @property
    def can_print(self) -> bool:
        return (self.state in (QueueState.IDLE, QueueState.PROCESSING) and self.accepting
                and not self.blocking_reasons)

    @property
    def failure_code(self) -> str | None:
        """Why a job cannot be printed now (a reason keyword or a kiosk code); None when it can."""
        if self.state is QueueState.UNREACHABLE:
            return "unreachable"
        if self.state is QueueState.MISSING:
            return "missing"
        if self.blocking_reasons:
            return base_reason(self.blocking_reasons[0])
        if self.state is QueueState.STOPPED:
            return "stopped"
        if not self.accepting:
            return "not-accepting"
        return None

    @property
    def detail(self) -> tuple[str, str]:
        code = self.failure_code
        if code is not None:
            zh, en = reason_text(code)
        elif self.warnings:
            zh, en = reason_text(self.warnings[0])
            zh, en = f"可以打印，{zh}", f"ready, {en}"
        elif self.state is QueueState.PROCESSING:
            zh, en = "正在打印", "printing"
        else:
            zh, en = "就绪", "ready"
        if self.state is QueueState.UNREACHABLE and self.message:
            en = f"{en}: {self.message}"
        return zh, en

    def as_dict(self) -> dict:
        zh, en = self.detail
        return {"state": self.state.value, "can_print": self.can_print, "accepting": self.accepting,
                "reasons": list(self.reasons), "queued_jobs": self.queued_jobs, "message": self.message,
                "detail_zh": zh, "detail_en": en}


def unreachable(why: str) -> QueueCondition:
    return QueueCondition(QueueState.UNREACHABLE, accepting=False, message=why)


@dataclass(frozen=True)
class JobStatus:
    """One answer about a job: where it is and what its printer is saying."""

    job_id: int
    state: JobState
    reasons: tuple[str, ...] = ()  # job-state-reasons
    printer_reasons: tuple[str, ...] = ()  # job-printer-state-reasons: the printer while printing it
    pages: int = 0  # job-impressions-completed
    message: str = ""

    def failure_code(self) -> str:
        """Why a job that did not complete failed, most specific first."""
        for reason in self.printer_reasons:
            if severity(reason) == "error" or base_reason(reason) in BLOCKING:
                return base_reason(reason)
        if self.state is JobState.CANCELED:
            return "canceled"
        if self.state is JobState.STOPPED:
            return "stopped"
        return "aborted"


@dataclass(frozen=True)
class PrintResult:
    """How a document print ended. ``sent`` says whether CUPS took the job (a failed job that was
    sent may have printed some pages: the citizen is told to check the tray)."""

    completed: bool
    reason: str | None = None  # a failure code: an IPP reason keyword base or a FAILURE_TEXT key
    reason_zh: str = ""
    reason_en: str = ""
    job_id: int | None = None
    sent: bool = False
    pages: int = 0
    elapsed: float = 0.0
    detail: str = ""  # what the server said, for technicians (never shown to citizens)

    @property
    def outcome(self) -> str:
        """``completed`` or ``failed:REASON``: the ``result`` field of the print ledger."""
        return "completed" if self.completed else f"failed:{self.reason}"

    def as_dict(self) -> dict:
        return {"outcome": self.outcome, "completed": self.completed, "reason": self.reason,
                "reason_zh": self.reason_zh, "reason_en": self.reason_en, "job_id": self.job_id,
                "sent": self.sent, "pages": self.pages, "elapsed": round(self.elapsed, 3), "detail": self.detail}


def failed(code: str, *, job_id: int | None = None, sent: bool = False, pages: int = 0,
           elapsed: float = 0.0, detail: str = "") -> PrintResult:
    zh, en = reason_text(code)
    return PrintResult(False, code, zh, en, job_id, sent, pages, elapsed, detail)
