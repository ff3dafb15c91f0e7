"""Several servers on one PostgreSQL job store, against a real PostgreSQL.

The cluster is started here (`pg_fixtures.PgCluster`: Debian's ``postgresql`` package, which
``.ci/run`` installs); without its binaries these tests skip. The stores are exercised two at a
time as two servers would use them (claims, leases that pass, deliveries claimed once), then
two ``emotion-analytics serve`` processes share one database while one of them is SIGKILLed
and restarted.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import requests
from pg_fixtures import PgCluster, PgUnavailable
from server_fixtures import REPO, V2_ASYNC, V2_SYNC, ServerProcess, audio_bytes, free_port

from emotion_analytics.client import WebhookReceiver
from emotion_analytics.errors import ConfigError
from emotion_analytics.server.jobs import PostgresJobStore, new_job

psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")

API = "/audio/generic/api/v2/async/recognise_emotion"
SECRET = "pg-secret"


@pytest.fixture(scope="module")
def pg():
    cluster = PgCluster()
    try:
        cluster.__enter__()
    except PgUnavailable as exc:
        pytest.skip(f"no PostgreSQL here: {exc}")
    try:
        yield cluster
    finally:
        cluster.__exit__()


def job(rid: str, **kw):
    kw.setdefault("audio", b"RIFF" + rid.encode())
    return new_job(rid, api=API, version="v2", **kw)


def _until(what, timeout: float = 20.0, every: float = 0.05):
    """Poll ``what()`` until it is truthy (a lease passing is waited for, not slept on)."""
    deadline = time.monotonic() + timeout
    while not (got := what()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(every)
    return got


def test_two_stores_claim_every_job_once(pg):
    url = pg.create_database("claims")
    stores = [PostgresJobStore(url), PostgresJobStore(url)]
    ids = [f"c{i:03d}" for i in range(80)]
    for i, rid in enumerate(ids):
        stores[i % 2].add(job(rid))
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def work(store):
        while (j := store.claim()) is not None:
            with lock:
                claimed.append((j.request_id, store.owner))
            assert store.finish(j, [{"emotion": j.request_id}])

    threads = [threading.Thread(target=work, args=(s,)) for s in stores * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert Counter(rid for rid, _ in claimed) == Counter(ids)  # each once, none missed
    assert stores[0].counts() == {"done": 80, "delivery_none": 80}
    for rid, owner in claimed:
        got = stores[1].get(rid)
        assert got.claimed_by == owner and got.runs == 1 and got.result == [{"emotion": rid}]
    for s in stores:
        s.close()


def test_a_lease_that_passes_hands_the_job_and_its_delivery_over(pg):
    url = pg.create_database("leases")
    dead = PostgresJobStore(url, lease_seconds=0.3)  # a server that stopped renewing
    live = PostgresJobStore(url)
    dead.add(job("x", webhook="http://example.org/hook"))
    first = dead.claim()
    assert first.claimed_by == dead.owner and live.claim() is None  # held under its lease
    second = _until(live.claim)
    assert (second.request_id, second.runs, second.claimed_by) == ("x", 2, live.owner)
    assert dead.finish(first, ["stale"]) is False  # the claim it ran under has passed
    assert live.finish(second, ["fresh"]) is True
    assert live.get("x").result == ["fresh"]

    due = live.due_deliveries()
    assert [j.request_id for j in due] == ["x"]
    held = dead.claim_delivery(due[0], lease=0.3)
    assert held is not None and live.claim_delivery(live.get("x")) is None
    assert live.due_deliveries() == []  # not due while another server holds it
    again = live.claim_delivery(_until(live.due_deliveries)[0])
    assert again is not None and again.delivery_by == live.owner
    assert dead.delivery_done(held) is False and live.delivery_done(again) is True
    done = live.get("x")
    assert (done.delivery, done.attempts) == ("delivered", 1)

    # a store shutting down hands back its own running jobs, never another server's
    live.add(job("mine"))
    dead.add(job("theirs"))
    assert live.claim().request_id == "mine" and dead.claim().request_id == "theirs"
    assert live.requeue_running() == 1
    assert live.get("mine").state == "queued" and live.get("theirs").state == "running"
    dead.close()
    live.close()


def test_an_unreachable_database_is_a_clear_refusal():
    port = free_port()  # nothing listens there
    url = f"postgresql://jobs:s3cret@127.0.0.1:{port}/emotion"
    with pytest.raises(ConfigError) as err:
        PostgresJobStore(url, connect_timeout=2)
    assert "cannot connect to the jobs database postgresql://jobs:***@127.0.0.1" in str(err.value)
    assert "s3cret" not in str(err.value)
    proc = subprocess.run([sys.executable, "-m", "emotion_analytics.cli", "serve", "--port",
                           str(free_port()), "--jobs-db", url], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    assert "cannot connect to the jobs database" in proc.stderr
    assert "s3cret" not in proc.stderr and "Traceback" not in proc.stderr


def _log(path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:  # not a record (or the last line of a killed process)
            pass
    return out


@pytest.mark.slow
def test_two_servers_one_database_survive_a_sigkill(pg, tmp_path):
    """200 jobs over two servers, one SIGKILLed midway and restarted: every job accepted is
    run once (the killed one's jobs again after their lease) and delivered once."""
    url = pg.create_database("two_servers")
    db = psycopg.connect(url, autocommit=True)
    args = ("--jobs-db", url, "--allow-loopback-webhooks", "--workers", "2",
            "--lease-seconds", "2", "--webhook-secret", SECRET, "--webhook-retry-delay", "0.2")
    # 1 to 2 s of real speech each, distinct, so an answer delivered under the wrong id shows
    clips = {f"pg-{i:03d}": audio_bytes(1.0 + (i % 3) * 0.5, seed=i) for i in range(200)}
    ids = list(clips)
    logs = {name: tmp_path / f"{name}.log" for name in ("a", "b", "a2")}

    def submit(server, rid):
        r = requests.post(server.url + V2_ASYNC, timeout=60, json={
            "content": base64.b64encode(clips[rid]).decode()},
            params={"webhook": hook.url, "request_id": rid})
        assert r.status_code == 202 and r.json()["request_id"] == rid, r.text

    def one(sql, *params):
        return db.execute(sql, params).fetchone()

    with WebhookReceiver(secret=SECRET) as hook:
        a = ServerProcess(*args, log=logs["a"]).start()
        b = ServerProcess(*args, log=logs["b"]).start()
        servers = [a, b]
        try:
            on_a = f"%/{a.proc.pid}/%"
            killed = {}

            def kill_a_if_busy() -> bool:
                """SIGKILL the first server while it runs a job, once some jobs are done. It is
                frozen (SIGSTOP) while its running jobs are read, so none can finish between the
                look and the kill."""
                if one("SELECT count(*) FROM jobs WHERE state = 'done'")[0] < 20:
                    return False
                os.kill(a.proc.pid, signal.SIGSTOP)
                running = {r[0] for r in db.execute(
                    "SELECT request_id FROM jobs WHERE state = 'running' AND claimed_by LIKE %s",
                    (on_a,))}
                if not running:
                    os.kill(a.proc.pid, signal.SIGCONT)
                    return False
                a.kill()
                killed["running"] = running
                killed["posting"] = {r[0] for r in db.execute(
                    "SELECT request_id FROM jobs WHERE delivery = 'pending' AND delivery_by LIKE"
                    " %s AND delivery_lease_until > extract(epoch FROM now())", (on_a,))}
                a2 = ServerProcess(*args, port=a.port, log=logs["a2"]).start()
                servers[:] = [a2, b]
                return True

            # The moment to kill is looked for while jobs keep coming, so the queue never runs
            # dry before it (however fast the servers are); then the rest go to the survivors.
            for i, rid in enumerate(ids):
                submit(servers[i % 2], rid)
                if not killed and i >= 40:
                    kill_a_if_busy()
            if not killed:
                _until(kill_a_if_busy, timeout=60, every=0.02)
            running_on_a, posting_on_a = killed["running"], killed["posting"]
            assert running_on_a
            # every job done and its delivery recorded: no claim is left that could post again
            _until(lambda: one("SELECT count(*) FROM jobs WHERE state = 'done'"
                               " AND delivery = 'delivered'")[0] == len(ids), timeout=120,
                   every=0.2)
            expected = {rid: requests.post(b.url + V2_SYNC, timeout=60, json={
                "content": base64.b64encode(clips[rid]).decode()}).json()
                for rid in sorted(running_on_a)[:3] + ids[-2:]}
        finally:
            for server in servers:
                if server.proc.poll() is None:
                    server.terminate()
            a.kill()

    rows = db.execute("SELECT request_id, state, delivery, runs, attempts FROM jobs").fetchall()
    db.close()
    assert len(rows) == len(ids)  # accepted
    assert {r[1] for r in rows} == {"done"} and {r[2] for r in rows} == {"delivered"}
    # run once: one "job done" per job across the three server processes; a second run only
    # for the jobs the killed server was running, which came back when their lease passed
    done = Counter(r["request_id"] for name in logs for r in _log(logs[name])
                   if r["msg"] == "job done")
    assert done == Counter(ids)
    assert {r[0] for r in rows if r[3] > 1} <= running_on_a
    assert all(r[3] == 2 for r in rows if r[0] in running_on_a)
    # delivered once: the receiver counts posts by request id. Delivery is at least once only
    # for a post the killed server had in flight (between the receiver's 200 and its record)
    posts = Counter(p["request_id"] for p in hook.received)
    assert set(posts) == set(ids)
    twice = {rid for rid, n in posts.items() if n > 1}
    assert twice <= posting_on_a and max(posts.values()) <= 2, (twice, posting_on_a)
    assert all(r[4] == 1 for r in rows)  # one recorded attempt each
    for rid, answer in expected.items():
        assert hook.results[rid] == answer, rid
