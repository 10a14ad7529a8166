"""Concurrent assessment requests share one vectorised engine call.

:func:`hccbm.assessment.engine.assess_many` computes every score once over all its patients, so
eight patients cost about three times one (docs/benchmarks.md). Under load a worker process
receives several requests at once; instead of running the engine once per request, each request
thread hands its patient to one engine thread, which takes *everything waiting* and runs it as a
single batch. Nothing waits for a batch to fill: an idle service assesses a lone request at once,
a busy one gets batches as large as its queue. Answers are identical to ``assess`` per patient
(tested), because ``assess`` is ``assess_many`` of one.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from hccbm.assessment.engine import assess, assess_many
from hccbm.assessment.model import Assessment
from hccbm.patient import Patient
from hccbm.service import logs

log = logging.getLogger(logs.LOGGER)


def assess_in_app(
    app_state: Any,
    patient: Patient,
    as_of: dt.date | None,
    lang: str,
    ordered_drugs: frozenset[str] = frozenset(),
) -> Assessment:
    """The engine's answer for a request of the service: through the app's batcher when it has
    one (``HCCBM_ASSESS_BATCHING``), else one engine call."""
    batcher: AssessmentBatcher | None = getattr(app_state, "batcher", None)
    if batcher is None:
        return assess(patient, as_of=as_of, lang=lang, ordered_drugs=ordered_drugs)
    return batcher.assess(patient, as_of, lang, ordered_drugs)


@dataclass
class _Job:
    patient: Patient
    as_of: dt.date | None
    lang: str
    ordered_drugs: frozenset[str] = frozenset()
    future: Future[Assessment] = field(default_factory=Future)


class AssessmentBatcher:
    """One engine thread per process that assesses queued patients in batches."""

    def __init__(self, max_batch: int = 32) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0  # counters for tests and the benchmark
        self.assessed = 0

    def assess(
        self,
        patient: Patient,
        as_of: dt.date | None = None,
        lang: str = "en",
        ordered_drugs: frozenset[str] = frozenset(),
    ) -> Assessment:
        """The assessment of one patient, computed in the next batch (blocks the caller)."""
        self._ensure_started()
        job = _Job(patient, as_of, lang, ordered_drugs)
        self._queue.put(job)
        return job.future.result()

    def close(self) -> None:
        """Stop the engine thread after the jobs already queued."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hccbm-assess", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            stop = False
            while len(jobs) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                jobs.append(more)
            self._assess(jobs)
            if stop:
                return

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
