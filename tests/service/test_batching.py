"""The assessment batcher: concurrent requests share one engine call and get exactly what
``assess`` gives each patient alone."""

from __future__ import annotations

import datetime as dt
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hccbm import Patient, assess
from hccbm.service import batching
from hccbm.service.batching import AssessmentBatcher, _Job

EXAMPLES = Path(__file__).resolve().parents[2] / "hccbm" / "examples"


def patients() -> list[Patient]:
    return [
        Patient.model_validate(json.loads(p.read_text(encoding="utf-8")))
        for p in sorted(EXAMPLES.glob("*.json"))
    ]


def dumped(a: Any) -> str:
    return json.dumps(a.model_dump(mode="json"), sort_keys=True)


def test_one_batch_gives_each_patient_its_own_assessment() -> None:
    group = patients()
    assert len(group) >= 5
    batcher = AssessmentBatcher()
    jobs = [_Job(p, None, "en") for p in group]
    for job in jobs:  # queued before the engine thread starts: one batch, deterministically
        batcher._submit(job)
    batcher._ensure_started()
    try:
        results = [job.future.result(timeout=60) for job in jobs]
    finally:
        batcher.close()
    assert batcher.batches == 1 and batcher.assessed == len(group)
    for p, r in zip(group, results, strict=True):
        assert dumped(r) == dumped(assess(p))


def test_language_and_date_split_a_batch() -> None:
    p = patients()[0]
    later = dt.date(2026, 1, 15)
    batcher = AssessmentBatcher()
    jobs = [_Job(p, None, "en"), _Job(p, None, "zh"), _Job(p, later, "en"), _Job(p, None, "en")]
    for job in jobs:
        batcher._submit(job)
    batcher._ensure_started()
    try:
        results = [job.future.result(timeout=60) for job in jobs]
    finally:
        batcher.close()
    assert batcher.batches == 3  # (None, en) ×2, (None, zh), (later, en)
    assert dumped(results[1]) == dumped(assess(p, lang="zh"))
    assert dumped(results[2]) == dumped(assess(p, as_of=later))
    assert results[1].lang == "zh" and results[0].lang == "en"


def test_concurrent_callers() -> None:
    group = patients() * 3
    batcher = AssessmentBatcher()
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(batcher.assess, group))
    finally:
        batcher.close()
    assert batcher.assessed == len(group)
    for p, r in zip(group, results, strict=True):
        assert dumped(r) == dumped(assess(p))


def test_a_failing_patient_does_not_fail_its_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    group = patients()[:3]
    poison = group[1]
    real = batching.assess_many

    def flaky(ps: list[Patient], **kw: Any) -> Any:
        if any(p is poison for p in ps):
            raise RuntimeError("engine failure")
        return real(ps, **kw)

    monkeypatch.setattr(batching, "assess_many", flaky)
    batcher = AssessmentBatcher()
    jobs = [_Job(p, None, "en") for p in group]
    for job in jobs:
        batcher._submit(job)
    batcher._ensure_started()
    try:
        assert dumped(jobs[0].future.result(timeout=60)) == dumped(assess(group[0]))
        assert dumped(jobs[2].future.result(timeout=60)) == dumped(assess(group[2]))
        with pytest.raises(RuntimeError, match="engine failure"):
            jobs[1].future.result(timeout=60)
    finally:
        batcher.close()


def test_an_announced_request_joins_the_batch_it_was_awaited_for() -> None:
    first, second = patients()[:2]
    batcher = AssessmentBatcher(gather=30.0)  # only the announcement can end the wait early
    try:
        with ThreadPoolExecutor(2) as pool, batcher.coming() as announcement:
            a = pool.submit(batcher.assess, first)
            time.sleep(0.3)  # long enough for a batch of one, had the engine not waited
            b = pool.submit(batcher.assess, second, None, "en", frozenset(), announcement)
            results = [a.result(timeout=20), b.result(timeout=20)]
    finally:
        batcher.close()
    assert batcher.batches == 1 and batcher.assessed == 2
    assert [dumped(r) for r in results] == [dumped(assess(first)), dumped(assess(second))]


def test_an_announcement_that_brings_no_job_releases_the_wait() -> None:
    p = patients()[0]
    batcher = AssessmentBatcher(gather=30.0)
    try:
        with ThreadPoolExecutor(1) as pool:
            with batcher.coming():  # e.g. a request refused before it reached the engine
                pending = pool.submit(batcher.assess, p)
                with pytest.raises(TimeoutError):
                    pending.result(timeout=0.5)  # held: the announced request may still come
            assert dumped(pending.result(timeout=20)) == dumped(assess(p))
    finally:
        batcher.close()


def test_without_announcements_a_lone_request_does_not_wait() -> None:
    p = patients()[0]
    batcher = AssessmentBatcher(gather=30.0)
    try:
        with ThreadPoolExecutor(1) as pool:
            assert dumped(pool.submit(batcher.assess, p).result(timeout=20)) == dumped(assess(p))
    finally:
        batcher.close()


def test_an_announcement_is_released_once_whatever_comes_first() -> None:
    """A request that leaves ``coming()`` before its worker thread submits (a cancelled
    request) must not be subtracted twice: the count would go negative and stop the wait."""
    p = patients()[0]
    batcher = AssessmentBatcher(gather=0.0)
    try:
        with batcher.coming() as announcement:
            assert batcher._announced == 1
        assert batcher._announced == 0
        result = batcher.assess(p, None, "en", frozenset(), announcement)
        assert batcher._announced == 0
        assert dumped(result) == dumped(assess(p))
    finally:
        batcher.close()
