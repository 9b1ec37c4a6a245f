"""``sim://``: an in-process A4 printer queue that keeps what it prints and can jam or run dry.

It keeps the last ``KEEP_JOBS`` finished jobs (their PDFs are in memory: a demo kiosk that prints
for weeks must not hold every page it ever printed).

It answers the driver with the same IPP words a CUPS queue uses (``media-jam-error``,
``media-empty-error``, job states 3–9), so the driver code that runs against CUPS runs unchanged
here. Printing advances one page each time the driver asks about the queue or a job, so tests
move the printer forward by polling, never by sleeping.

Controls (thread-safe, for tests, demos and the maintenance screen): :meth:`jam`,
:meth:`clear_jam`, :meth:`load_paper`, :meth:`set_offline`, :meth:`pause`, :meth:`resume`,
:meth:`unplug`, :meth:`plug_in`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from devices.document_printer.conditions import JobState, JobStatus, QueueCondition, QueueState
from devices.document_printer.cups_queue import JobRefused, QueueUnreachable
from devices.document_printer.pdf import count_pages

LOW_PAPER = 5  # sheets left when the tray reports media-low
KEEP_JOBS = 50  # finished jobs kept, newest; older ones are forgotten as a print server does


@dataclass
class SimJob:
    job_id: int
    title: str
    pdf: bytes
    pages: int
    printed: int = 0
    state: JobState = JobState.PENDING
    path: Path | None = None


class SimulatedQueue:
    def __init__(self, paper: int | None = None, out_dir: str | Path | None = None, keep_jobs: int = KEEP_JOBS) -> None:
        self.description = "simulated A4 printer"
        self._keep_jobs = max(1, keep_jobs)
        self._lock = threading.Lock()
        self._paper = paper  # sheets in the tray; None: never runs out
        self._out_dir = Path(out_dir) if out_dir else None
        self._jobs: dict[int, SimJob] = {}
        self._next_id = 1
        self._jam_in: int | None = None  # pages until a jam; 0: jammed now
        self._offline = False
        self._paused = False
        self._accepting = True
        self._reachable = True
        self._open = False

    # -- controls ----------------------------------------------------------------------------------

    def jam(self, after_pages: int = 0) -> None:
        with self._lock:
            self._jam_in = after_pages

    def clear_jam(self) -> None:
        with self._lock:
            self._jam_in = None

    def load_paper(self, sheets: int | None) -> None:
        with self._lock:
            self._paper = sheets

    def set_offline(self, offline: bool = True) -> None:
        with self._lock:
            self._offline = offline

    def pause(self) -> None:
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False

    def reject_jobs(self, reject: bool = True) -> None:
        with self._lock:
            self._accepting = not reject

    def unplug(self) -> None:
        """The print service stops answering (like cupsd going away)."""
        with self._lock:
            self._reachable = False
            self._open = False

    def plug_in(self) -> None:
        with self._lock:
            self._reachable = True

    @property
    def printed(self) -> list[SimJob]:
        """Completed jobs, oldest first."""
        with self._lock:
            return [j for j in self._jobs.values() if j.state is JobState.COMPLETED]

    @property
    def paper(self) -> int | None:
        with self._lock:
            return self._paper

    # -- the queue interface the driver uses -------------------------------------------------------

    def open(self) -> None:
        with self._lock:
            if not self._reachable:
                raise QueueUnreachable("simulated print service is unplugged")
            self._open = True

    def close(self) -> None:
        with self._lock:
            self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    def _check(self) -> None:
        if not (self._reachable and self._open):
            self._open = False
            raise QueueUnreachable("simulated print service is unplugged")

    def _reasons(self) -> tuple[str, ...]:
        reasons = []
        if self._jam_in == 0:
            reasons.append("media-jam-error")
        if self._paper == 0:
            reasons.append("media-empty-error")
        elif self._paper is not None and self._paper <= LOW_PAPER:
            reasons.append("media-low-warning")
        if self._offline:
            reasons.append("offline-report")
        if self._paused:
            reasons.append("paused")
        return tuple(reasons)

    def _blocked(self) -> bool:
        return self._jam_in == 0 or self._paper == 0 or self._offline or self._paused

    def _active(self) -> SimJob | None:
        for job in self._jobs.values():
            if job.state in (JobState.PENDING, JobState.PROCESSING, JobState.STOPPED):
                return job
        return None

    def _advance(self) -> None:
        """Print one page of the active job, or stop it where the printer is stuck."""
        job = self._active()
        if job is None:
            return
        if self._blocked():
            if job.state is JobState.PROCESSING:
                job.state = JobState.STOPPED
            return
        job.state = JobState.PROCESSING
        job.printed += 1
        if self._paper is not None:
            self._paper -= 1
        if self._jam_in is not None:
            self._jam_in = max(0, self._jam_in - 1)
        if job.printed >= job.pages:
            job.state = JobState.COMPLETED
            if self._out_dir is not None:
                self._out_dir.mkdir(parents=True, exist_ok=True)
                job.path = self._out_dir / f"job-{job.job_id:04d}.pdf"
                job.path.write_bytes(job.pdf)
                job.path.chmod(0o600)
            self._forget_old()

    def condition(self) -> QueueCondition:
        with self._lock:
            self._check()
            self._advance()
            active = self._active()
            if self._blocked():
                state = QueueState.STOPPED
            else:
                state = QueueState.PROCESSING if active else QueueState.IDLE
            queued = sum(1 for j in self._jobs.values() if not j.state.finished)
            return QueueCondition(state, self._reasons(), self._accepting, queued_jobs=queued)

    def submit(self, pdf: bytes, title: str) -> int:
        with self._lock:
            self._check()
            if not self._accepting:
                raise JobRefused("not-accepting", "simulated queue is not accepting jobs")
            job = SimJob(self._next_id, title, bytes(pdf), count_pages(pdf))
            self._jobs[job.job_id] = job
            self._next_id += 1
            self._forget_old()
            return job.job_id

    def _forget_old(self) -> None:
        """Drop the oldest finished jobs beyond ``keep_jobs`` (a job not finished is never dropped)."""
        finished = [j.job_id for j in self._jobs.values() if j.state.finished]
        for job_id in finished[:max(0, len(finished) - self._keep_jobs)]:
            del self._jobs[job_id]

    def job_status(self, job_id: int) -> JobStatus:
        with self._lock:
            self._check()
            self._advance()
            job = self._jobs.get(job_id)
            if job is None:
                raise JobRefused("aborted", f"job {job_id} is no longer known to the simulator")
            printer_reasons = self._reasons() if job.state is JobState.STOPPED else ()
            return JobStatus(job_id, job.state, (), printer_reasons, job.printed)

    def cancel(self, job_id: int) -> None:
        with self._lock:
            self._check()
            job = self._jobs.get(job_id)
            if job is not None and not job.state.finished:
                job.state = JobState.CANCELED

    def finished(self, job_id: int) -> None:
        """The simulator keeps finished jobs: tests look at what came out."""
