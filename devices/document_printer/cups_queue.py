"""A CUPS queue through pycups (libcups' own IPP client).

Why pycups rather than ``lp``/``lpstat``: a certificate must be known to have *completed*, and
only IPP says so. ``lpstat -W completed`` lists cancelled and aborted jobs as well and never prints
``job-state``; ``lpstat -p`` gives ``printer-state-reasons`` only as localised prose. pycups asks
for ``job-state``, ``job-state-reasons``, ``job-impressions-completed`` and
``printer-state-reasons`` by name, streams the PDF from memory (no temporary file with a citizen's
certificate in it), and purges a finished job so the spool keeps no copy. The cost is a compiled
extension: building it needs ``libcups2-dev`` and a C compiler (``make setup`` installs both).

Every call here runs on the driver thread. libcups keeps its server setting per thread, so
``cupsSetServer`` on that thread points only this driver at ``?server=`` and leaves any other
CUPS client in the process alone. Errors leave as :class:`QueueUnreachable` (the server did not
answer: reconnect) or :class:`JobRefused` (it answered no).
"""
from __future__ import annotations

import logging

from devices.document_printer.conditions import (JobState, JobStatus, QueueCondition, QueueState,
                                                 normalise_reasons)

log = logging.getLogger(__name__)

PRINTER_ATTRIBUTES = ["printer-state", "printer-state-reasons", "printer-is-accepting-jobs",
                      "printer-state-message", "queued-job-count", "printer-make-and-model", "device-uri"]
JOB_ATTRIBUTES = ["job-state", "job-state-reasons", "job-printer-state-reasons", "job-printer-state-message",
                  "job-impressions-completed", "job-media-sheets-completed"]
_STATES = {3: QueueState.IDLE, 4: QueueState.PROCESSING, 5: QueueState.STOPPED}
# IPP status codes that mean "nobody answered" rather than "the server said no"
_UNREACHABLE_STATUS = {0x0500, 0x0502, 0x0503}  # internal error (libcups' code for I/O errors), unavailable


class QueueError(Exception):
    """Base of the errors a print queue raises to the driver."""


class QueueUnreachable(QueueError):
    """The print service did not answer (not running, connection lost)."""


class JobRefused(QueueError):
    """The server answered but would not take or keep the job; ``code`` is a kiosk failure code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def _import_cups():
    try:
        import cups  # noqa: PLC0415 - optional, compiled; loaded when a cups:// queue is opened
    except ImportError as exc:
        raise QueueUnreachable(f"pycups is not installed ({exc}); install it with 'make setup'") from None
    return cups


class CupsQueue:
    """One queue on one CUPS server, used only from the driver thread."""

    def __init__(self, queue: str, server: str | None = None, *, purge_finished: bool = True) -> None:
        self.queue = queue
        self.server = server
        self.purge_finished = purge_finished
        self.description = ""  # make and model and device URI, once the queue answered
        self._cups = None
        self._conn = None

    def open(self) -> None:
        cups = self._cups = _import_cups()
        if self.server:
            cups.setServer(self.server)  # thread-local in libcups: this thread only
        try:
            self._conn = cups.Connection()
        except RuntimeError as exc:  # pycups: "failed to connect to server"
            self._conn = None
            where = self.server or cups.getServer()
            raise QueueUnreachable(f"CUPS at {where}: {exc}") from None

    def close(self) -> None:
        self._conn = None  # pycups closes the HTTP connection when the object goes

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def _call(self, what: str, fn, *args, **kwargs):
        if self._conn is None:
            raise QueueUnreachable("not connected")
        cups = self._cups
        try:
            return fn(*args, **kwargs)
        except cups.IPPError as exc:
            status, message = (exc.args + (None, ""))[:2]
            if status in _UNREACHABLE_STATUS:
                self._conn = None
                raise QueueUnreachable(f"{what}: {message}") from None
            raise _Refusal(status, message) from None
        except (cups.HTTPError, RuntimeError) as exc:
            self._conn = None
            raise QueueUnreachable(f"{what}: {exc}") from None

    # -- queue -------------------------------------------------------------------------------------

    def condition(self) -> QueueCondition:
        try:
            attrs = self._call("Get-Printer-Attributes", self._conn.getPrinterAttributes, self.queue,
                               requested_attributes=PRINTER_ATTRIBUTES)
        except _Refusal as exc:
            if exc.status == self._cups.IPP_NOT_FOUND:
                return QueueCondition(QueueState.MISSING, accepting=False, message=exc.message)
            raise QueueUnreachable(f"Get-Printer-Attributes: {exc.message}") from None
        self.description = f"{attrs.get('printer-make-and-model', '?')} at {attrs.get('device-uri', '?')}"
        return QueueCondition(
            state=_STATES.get(attrs.get("printer-state"), QueueState.STOPPED),
            reasons=normalise_reasons(attrs.get("printer-state-reasons")),
            accepting=bool(attrs.get("printer-is-accepting-jobs", True)),
            message=str(attrs.get("printer-state-message") or ""),
            queued_jobs=int(attrs.get("queued-job-count") or 0))

    # -- jobs --------------------------------------------------------------------------------------

    def submit(self, pdf: bytes, title: str) -> int:
        """Create the job and stream the PDF into it; returns the job id."""
        cups = self._cups
        try:
            job_id = self._call("Create-Job", self._conn.createJob, self.queue, title, {})
        except _Refusal as exc:
            code = "not-accepting" if exc.status == cups.IPP_NOT_ACCEPTING else (
                "missing" if exc.status == cups.IPP_NOT_FOUND else "rejected")
            raise JobRefused(code, f"Create-Job: {exc.message}") from None
        try:
            status = self._call("Send-Document", self._conn.startDocument, self.queue, job_id, title,
                                "application/pdf", 1)
            if status != 100:  # HTTP_CONTINUE: ready for the document
                raise JobRefused("rejected", f"Send-Document: HTTP {status}")
            self._call("Send-Document", self._conn.writeRequestData, pdf, len(pdf))
            answer = self._call("Send-Document", self._conn.finishDocument, self.queue)
        except _Refusal as exc:
            self._forget(job_id)
            raise JobRefused("rejected", f"Send-Document: {exc.message}") from None
        except JobRefused:
            self._forget(job_id)
            raise
        if answer not in (0, 1, 2, 3):  # IPP successful-ok and its "ignored/conflicting" variants
            self._forget(job_id)
            raise JobRefused("rejected", f"Send-Document: IPP status 0x{answer:04x}")
        return job_id

    def job_status(self, job_id: int) -> JobStatus:
        try:
            attrs = self._call("Get-Job-Attributes", self._conn.getJobAttributes, job_id,
                               requested_attributes=JOB_ATTRIBUTES)
        except _Refusal as exc:
            raise JobRefused("aborted", f"job {job_id} is no longer known to the server ({exc.message})") from None
        try:
            state = JobState(int(attrs.get("job-state", 0)))
        except ValueError:
            state = JobState.PENDING
        pages = attrs.get("job-impressions-completed") or attrs.get("job-media-sheets-completed") or 0
        return JobStatus(job_id, state, normalise_reasons(attrs.get("job-state-reasons")),
                         normalise_reasons(attrs.get("job-printer-state-reasons")), int(pages),
                         str(attrs.get("job-printer-state-message") or ""))

    def cancel(self, job_id: int) -> None:
        """Cancel (and purge) a job; a job already gone is fine."""
        try:
            self._call("Cancel-Job", self._conn.cancelJob, job_id, purge_job=True)
        except _Refusal as exc:
            log.debug("cancel job %s: %s", job_id, exc.message)

    def finished(self, job_id: int) -> None:
        """Purge a finished job so CUPS keeps neither its document nor its title."""
        if self.purge_finished:
            self.cancel(job_id)

    def _forget(self, job_id: int) -> None:
        try:
            self.cancel(job_id)
        except QueueUnreachable:
            pass


class _Refusal(Exception):
    def __init__(self, status, message) -> None:
        super().__init__(message)
        self.status = status
        self.message = str(message)
