"""The SQLite job store and the job runner, on real database files."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from emotion_analytics.errors import EmotionAnalyticsError
from emotion_analytics.server.jobs import MAX_RUNS, DuplicateJobError, JobStore, new_job
from emotion_analytics.server.runner import JobFailure, JobRunner

API = "/audio/generic/api/v2/async/recognise_emotion"


def job(rid: str, **kw):
    kw.setdefault("audio", b"RIFF" + rid.encode())
    return new_job(rid, api=API, version="v2", **kw)


def test_wal_file_and_lifecycle(tmp_path):
    path = tmp_path / "sub" / "jobs.sqlite3"
    store = JobStore(path)
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.add(job("a", webhook="http://example.org/h", options={"encoding": "FLAC"}))
    store.add(job("b"))
    got = store.get("a")
    assert (got.state, got.delivery, got.options, got.audio) == (
        "queued", "pending", {"encoding": "FLAC"}, b"RIFFa")
    assert store.get("b").delivery == "none"
    first = store.claim()
    assert first.request_id == "a" and first.state == "running" and first.runs == 1
    store.finish("a", [{"emotion": "sad", "start": 0.0, "end": 1.5}])
    done = store.get("a")
    assert done.state == "done" and done.audio is None
    assert done.result == [{"emotion": "sad", "start": 0.0, "end": 1.5}]
    assert [j.request_id for j in store.due_deliveries()] == ["a"]
    store.delivery_failed("a", "HTTP 500", retry_at=done.next_attempt + 1000)
    assert store.due_deliveries() == []
    assert store.next_delivery_at() == pytest.approx(done.next_attempt + 1000)
    store.delivery_done("a")
    assert store.get("a").delivery == "delivered" and store.get("a").attempts == 2
    store.close()
    # a second process opening the same file sees everything
    again = JobStore(path)
    assert again.counts() == {"done": 1, "queued": 1, "delivery_delivered": 1,
                              "delivery_none": 1}
    again.close()


def test_duplicate_request_id_is_refused(tmp_path):
    store = JobStore(tmp_path / "j.db")
    store.add(job("same"))
    with pytest.raises(DuplicateJobError, match="'same' already exists"):
        store.add(job("same"))


def test_running_jobs_are_requeued_and_crashers_given_up(tmp_path):
    store = JobStore(tmp_path / "j.db")
    store.add(job("x", webhook="http://example.org/h"))
    for _ in range(MAX_RUNS):
        assert store.claim().request_id == "x"
        assert store.requeue_running() == 1  # the process "died" while running it
    assert store.claim() is None
    failed = store.get("x")
    assert failed.state == "failed" and "interrupted" in failed.error["faultstring"]
    assert failed.delivery == "pending"  # the failure is still reported to the webhook


def test_gave_up_delivery(tmp_path):
    store = JobStore(tmp_path / "j.db")
    store.add(job("g", webhook="http://example.org/h"))
    store.claim()
    store.fail("g", {"faultstring": "bad audio", "errorcode": "x.BadAudio"})
    store.delivery_failed("g", "refused", retry_at=None)
    assert store.get("g").delivery == "gave_up"
    assert store.due_deliveries() == []


def test_not_a_database(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(EmotionAnalyticsError, match="cannot open the jobs database"):
        JobStore(bad)


def test_runner_runs_every_job_once_across_threads(tmp_path):
    store = JobStore(tmp_path / "j.db")
    ids = [f"job-{i}" for i in range(40)]
    for rid in ids:
        store.add(job(rid))
    seen, lock = [], threading.Lock()

    def process(j):
        with lock:
            seen.append(j.request_id)
        if j.request_id == "job-7":
            raise JobFailure("cannot decode", "emotion_analytics.BadAudio")
        if j.request_id == "job-8":
            raise RuntimeError("engine bug")
        return [{"emotion": j.request_id, "start": 0.0, "end": 1.0}]

    finished = threading.Event()
    runner = JobRunner(store, process, workers=4,
                       on_finished=lambda: len(seen) == len(ids) and finished.set())
    runner.start()
    assert finished.wait(30)
    runner.stop(grace=5)
    assert sorted(seen) == sorted(ids)
    counts = store.counts()
    assert counts["done"] == 38 and counts["failed"] == 2
    assert store.get("job-3").result[0]["emotion"] == "job-3"
    assert store.get("job-7").error["errorcode"] == "emotion_analytics.BadAudio"
    assert store.get("job-8").error["errorcode"] == "emotion_analytics.InternalError"


def test_store_survives_concurrent_writers(tmp_path):
    """Two connections (as after a restart racing a leftover one) do not corrupt the file."""
    path = tmp_path / "j.db"
    a, b = JobStore(path), JobStore(path)

    def add(store, prefix):
        for i in range(50):
            store.add(job(f"{prefix}{i}"))

    threads = [threading.Thread(target=add, args=(s, p)) for s, p in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert a.counts()["queued"] == 100
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
