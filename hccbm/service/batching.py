"""Concurrent assessment requests share one vectorised engine call.

:func:`hccbm.assessment.engine.assess_many` computes every score once over all its patients, so
eight patients cost about three times one (docs/benchmarks.md). Under load a worker process
receives several requests at once; instead of running the engine once per request, each request
thread hands its patient to one engine thread, which takes everything waiting, plus what the
requests already announced bring within a few milliseconds, and runs it as a single batch. An
idle service assesses a lone request at once. Answers are identical to ``assess`` per patient
(tested), because ``assess`` is ``assess_many`` of one.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hccbm.assessment.engine import assess, assess_many
from hccbm.assessment.model import Assessment
from hccbm.patient import Patient
from hccbm.service import logs

log = logging.getLogger(logs.LOGGER)


@dataclass
class Announcement:
    """A request's promise of a job (see :meth:`AssessmentBatcher.coming`); ``counted`` while
    the batcher still waits for it."""

    counted: bool = True


def assess_in_app(
    app_state: Any,
    patient: Patient,
    as_of: dt.date | None,
    lang: str,
    ordered_drugs: frozenset[str] = frozenset(),
    announcement: Announcement | None = None,
) -> Assessment:
    """The engine's answer for a request of the service: through the app's batcher when it has
    one (``HCCBM_ASSESS_BATCHING``), else one engine call."""
    batcher: AssessmentBatcher | None = getattr(app_state, "batcher", None)
    if batcher is None:
        return assess(patient, as_of=as_of, lang=lang, ordered_drugs=ordered_drugs)
    return batcher.assess(patient, as_of, lang, ordered_drugs, announcement)


@contextmanager
def coming(app_state: Any) -> Iterator[Announcement | None]:
    """Tell the app's batcher that this request will (probably) ask for an assessment soon: the
    engine thread then waits a moment for it instead of starting a batch without it. Pass the
    announcement to :func:`assess_in_app`."""
    batcher: AssessmentBatcher | None = getattr(app_state, "batcher", None)
    if batcher is None:
        yield None
        return
    with batcher.coming() as announcement:
        yield announcement


@dataclass
class _Job:
    patient: Patient
    as_of: dt.date | None
    lang: str
    ordered_drugs: frozenset[str] = frozenset()
    future: Future[Assessment] = field(default_factory=Future)


class AssessmentBatcher:
    """One engine thread per process that assesses queued patients in batches.

    Requests announce themselves (:meth:`coming`) when they arrive; when a batch starts, the
    engine thread waits up to ``gather`` seconds for announced requests that have not queued
    their patient yet. Without the wait, batches under load averaged 1.5 patients (the engine
    thread took the first job as soon as it was queued); with 10 ms, about 2.1, and the server
    CPU per request fell by ~14 % (docs/benchmarks.md). An idle service has nothing announced
    and starts at once.
    """

    def __init__(self, max_batch: int = 32, gather: float = 0.010) -> None:
        self.max_batch = max_batch
        self.gather = gather
        self._cond = threading.Condition()
        self._jobs: list[_Job] = []
        self._announced = 0  # requests in coming() that have not queued their job yet
        self._closing = False
        self._thread: threading.Thread | None = None
        self.batches = 0  # counters for tests and the benchmark
        self.assessed = 0

    @contextmanager
    def coming(self) -> Iterator[Announcement]:
        """Announce a request until it queues its job (:meth:`assess` with the announcement)
        or leaves this block."""
        state = Announcement()
        with self._cond:
            self._announced += 1
        try:
            yield state
        finally:
            with self._cond:
                self._release(state)
                self._cond.notify_all()

    def assess(
        self,
        patient: Patient,
        as_of: dt.date | None = None,
        lang: str = "en",
        ordered_drugs: frozenset[str] = frozenset(),
        announcement: Announcement | None = None,
    ) -> Assessment:
        """The assessment of one patient, computed in the next batch (blocks the caller)."""
        self._ensure_started()
        job = _Job(patient, as_of, lang, ordered_drugs)
        self._submit(job, announcement)
        return job.future.result()

    def _submit(self, job: _Job, state: Announcement | None = None) -> None:
        with self._cond:
            if state is not None:
                self._release(state)
            self._jobs.append(job)
            self._cond.notify_all()

    def _release(self, state: Announcement) -> None:
        # Once only, whichever comes first: the job, or the request leaving coming() (which may
        # happen before its worker thread submits, e.g. when the request is cancelled).
        # Call with self._cond held.
        if state.counted:
            state.counted = False
            self._announced -= 1

    def close(self) -> None:
        """Stop the engine thread after the jobs already queued."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._closing = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=30)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._cond:
            if self._thread is None:
                self._closing = False
                self._thread = threading.Thread(target=self._run, name="hccbm-assess", daemon=True)
                self._thread.start()

    def _next_batch(self) -> list[_Job] | None:
        """Wait for a job, then up to ``gather`` seconds for announced ones; None to stop."""
        with self._cond:
            while not self._jobs:
                if self._closing:
                    return None
                self._cond.wait()
            deadline = time.monotonic() + self.gather
            while self._announced > 0 and len(self._jobs) < self.max_batch and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            jobs, self._jobs = self._jobs[: self.max_batch], self._jobs[self.max_batch :]
            return jobs

    def _run(self) -> None:
        while (jobs := self._next_batch()) is not None:
            self._assess(jobs)

    def _assess(self, jobs: list[_Job]) -> None:
        groups: dict[tuple[dt.date | None, str, frozenset[str]], list[_Job]] = defaultdict(list)
        for job in jobs:
            groups[(job.as_of, job.lang, job.ordered_drugs)].append(job)
        for (as_of, lang, ordered), group in groups.items():
            try:
                results = assess_many(
                    [j.patient for j in group], as_of=as_of, lang=lang, ordered_drugs=ordered
                )
            except Exception as exc:
                # One bad patient must not fail its neighbours: assess each on its own.
                # (The exception text is not logged: it could quote patient data.)
                log.warning(
                    "batch assessment failed; retrying one by one",
                    extra={"event": type(exc).__name__},
                )
                for j in group:
                    self._one(j)
                continue
            for j, result in zip(group, results, strict=True):
                j.future.set_result(result)
            self.batches += 1
            self.assessed += len(group)

    @staticmethod
    def _one(job: _Job) -> None:
        try:
            only = assess_many(
                [job.patient], as_of=job.as_of, lang=job.lang, ordered_drugs=job.ordered_drugs
            )
            job.future.set_result(only[0])
        except Exception as exc:  # the request thread re-raises it
            job.future.set_exception(exc)
