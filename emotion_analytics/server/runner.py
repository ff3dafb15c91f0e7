"""Worker threads that take queued jobs from the store and run them.

A claimed job is held under a lease (see `emotion_analytics.server.jobs`): a thread renews the
leases of the jobs this runner is running every third of ``lease_seconds``, so that only a
server that died (or stalled past its lease) gives its jobs to another one. An answer is
recorded only under the claim that produced it.

>>> from emotion_analytics.server.jobs import JobStore, new_job
>>> store = JobStore(":memory:")
>>> store.add(new_job("r1", api="/api", version="v2", audio=b"x"))
1
>>> runner = JobRunner(store, lambda job: [{"emotion": "neutral", "start": 0, "end": 1}])
>>> runner.run_pending()
1
>>> store.get("r1").state
'done'
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import JobFailure
from .jobs import BaseJobStore, Job

__all__ = ["JobFailure", "JobRunner"]

log = logging.getLogger("emotion_analytics.server.jobs")


class JobRunner:
    """``workers`` threads running ``process(job) -> answer`` on queued jobs.

    Parameters
    ----------
    store
        Where jobs are claimed and their results recorded.
    process
        Turns a job into its answer; raises `JobFailure` for a failure to report.
    workers
        Number of threads (jobs analysed at the same time).
    on_finished
        Called after each job is recorded (e.g. to wake the webhook deliverer).
    """

    def __init__(
        self,
        store: BaseJobStore,
        process: Callable[[Job], Any],
        *,
        workers: int = 2,
        on_finished: Callable[[], None] | None = None,
    ):
        self.store = store
        self.process = process
        self.workers = workers
        self.on_finished = on_finished or (lambda: None)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running = 0  # jobs in progress in this runner (their leases are renewed)
        self._count_lock = threading.Lock()
        self._renew_stop = threading.Event()

    def start(self) -> None:
        """Start the worker threads."""
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"job-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        self._renewer = threading.Thread(target=self._renew_loop, name="job-leases", daemon=True)
        self._renewer.start()

    def notify(self) -> None:
        """A job was queued: wake a worker."""
        self._wake.set()

    def stop(self, *, grace: float = 30.0) -> int:
        """Stop taking jobs, wait up to ``grace`` s for running ones; requeue the rest.

        Returns the number of jobs put back in the queue.
        """
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + grace
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._renew_stop.set()  # the jobs still running keep their leases until now
        requeued = self.store.requeue_running()
        if requeued:
            log.warning("jobs requeued at shutdown", extra={"jobs": requeued})
        return requeued

    def run_pending(self) -> int:
        """Run queued jobs in this thread until the queue is empty; returns how many ran."""
        n = 0
        while not self._stop.is_set():
            job = self.store.claim()
            if job is None:
                return n
            self._run(job)
            n += 1
        return n

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_pending()
            except Exception:  # the store failed: log, back off, keep the worker alive
                log.exception("job worker error")
                ran = 0
            if not ran:
                self._wake.wait(0.5)
                self._wake.clear()

    def _renew_loop(self) -> None:
        every = max(0.05, self.store.lease_seconds / 3)
        while not self._renew_stop.wait(every):
            if self._running:
                try:
                    self.store.renew_leases()
                except Exception:  # the database is away: the next round tries again
                    log.exception("renewing job leases failed")

    def _run(self, job: Job) -> None:
        with self._count_lock:
            self._running += 1
        try:
            self._run_one(job)
        finally:
            with self._count_lock:
                self._running -= 1
        self.on_finished()

    def _run_one(self, job: Job) -> None:
        started = time.monotonic()
        ids = {"request_id": job.request_id, "run": job.runs}
        try:
            result = self.process(job)
        except JobFailure as exc:
            recorded = self.store.fail(job, exc.fault)
            what = "job failed"
            extra = dict(exc.fault)
        except Exception as exc:  # a bug in an engine: fail the job, keep the worker
            log.exception("job crashed", extra=ids)
            recorded = self.store.fail(job, {
                "faultstring": f"internal error while analysing the audio ({type(exc).__name__});"
                " the server log has details",
                "errorcode": "emotion_analytics.InternalError"})
            what, extra = "job failed", {"errorcode": "emotion_analytics.InternalError"}
        else:
            recorded = self.store.finish(job, result)
            what, extra = "job done", {"seconds": round(time.monotonic() - started, 3)}
        if recorded:
            log.info(what, extra={**ids, **extra})
        else:  # the lease passed and another run took the job over: that one records it
            log.warning("job answer dropped: its lease passed to another claim", extra=ids)
