"""Async throughput of several servers on one PostgreSQL job store, against one on SQLite.

Starts a throwaway PostgreSQL cluster (Debian's ``postgresql`` package, durable settings:
fsync on) and runs the same ``--jobs`` async jobs (1-2 s of real speech each, with a webhook to
a receiver here) through

1. one server on a SQLite file (the baseline of the same run),
2. one server on PostgreSQL,
3. ``--servers`` servers on one PostgreSQL database, the submissions spread over them,

and prints jobs/s from the first submission to the last delivery, the ratio to the baseline,
and accepted / completed / delivered / duplicate counts (exit code 1 when they differ). Each
server has ``--workers`` workers. Run::

    .venv/bin/python benchmarks/bench_postgres.py                 # 200 jobs, 2 servers
    .venv/bin/python benchmarks/bench_postgres.py --jobs 400 --servers 3
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pg_fixtures import PgCluster, PgUnavailable  # noqa: E402
from server_fixtures import V2_ASYNC, ServerProcess, audio_bytes  # noqa: E402

from emotion_analytics.client import WebhookReceiver  # noqa: E402
from emotion_analytics.server.jobs import open_store  # noqa: E402


def run_phase(jobs_db: str, servers: int, clips: dict[str, bytes], workers: int,
              max_seconds: float, tag: str) -> dict:
    args = ("--jobs-db", jobs_db, "--allow-loopback-webhooks", "--workers", str(workers),
            "--log-level", "warning")
    procs = [ServerProcess(*args) for _ in range(servers)]
    with WebhookReceiver() as hook, ThreadPoolExecutor(4) as pool:
        for p in procs:
            p.start()
        try:
            def submit(item):
                i, (rid, data) = item
                r = requests.post(procs[i % servers].url + V2_ASYNC, timeout=60,
                                  params={"webhook": hook.url, "request_id": f"{tag}-{rid}"},
                                  json={"content": base64.b64encode(data).decode()})
                return r.status_code == 202

            t0 = time.perf_counter()
            accepted = sum(pool.map(submit, enumerate(clips.items())))
            deadline = time.monotonic() + max_seconds
            while len(hook.results) < accepted and time.monotonic() < deadline:
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
            time.sleep(0.5)  # a late duplicate would arrive now
        finally:
            for p in procs:
                p.terminate()
        posts = Counter(p["request_id"] for p in hook.received)
    store = open_store(jobs_db)
    completed = store.counts().get("done", 0)
    store.close()
    return {"accepted": accepted, "delivered": len(hook.results), "completed": completed,
            "duplicates": sum(n - 1 for n in posts.values()), "seconds": elapsed,
            "jobs_per_s": len(hook.results) / elapsed}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=200, help="async jobs per phase")
    ap.add_argument("--servers", type=int, default=2, help="servers sharing PostgreSQL")
    ap.add_argument("--workers", type=int, default=2, help="serve --workers of each server")
    ap.add_argument("--max-seconds", type=float, default=300.0, help="cap of each phase")
    args = ap.parse_args(argv)
    clips = {f"j{i:04d}": audio_bytes(1.0 + (i % 3) * 0.5, seed=i) for i in range(args.jobs)}
    try:
        cluster = PgCluster(durable=True).__enter__()
    except PgUnavailable as exc:
        print(f"no PostgreSQL here: {exc}", file=sys.stderr)
        return 2
    ok = True
    try:
        with tempfile.TemporaryDirectory() as tmp:
            phases = [
                ("1 server, SQLite", str(Path(tmp) / "jobs.sqlite3"), 1),
                ("1 server, PostgreSQL", cluster.create_database("one"), 1),
                (f"{args.servers} servers, PostgreSQL", cluster.create_database("many"),
                 args.servers),
            ]
            base = None
            print(f"{args.jobs} async jobs of 1-2 s, {args.workers} workers per server; "
                  f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
            for name, db, n in phases:
                r = run_phase(db, n, clips, args.workers, args.max_seconds, tag=f"p{n}")
                base = base or r["jobs_per_s"]
                print(f"{name:>22}: {r['jobs_per_s']:6.1f} jobs/s ({r['seconds']:.1f} s), "
                      f"{r['jobs_per_s'] / base:.2f}x the SQLite server; accepted "
                      f"{r['accepted']}, completed {r['completed']}, delivered "
                      f"{r['delivered']}, duplicates {r['duplicates']}")
                ok &= (r["accepted"] == r["completed"] == r["delivered"] == args.jobs
                       and not r["duplicates"])
    finally:
        cluster.__exit__()
    if not ok:
        print("ERROR: submitted, accepted, completed and delivered counts differ, or "
              "duplicates",
              file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
