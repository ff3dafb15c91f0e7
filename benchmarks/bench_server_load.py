"""Load test of the emotion API server on loopback: sync latency and async throughput.

Starts ``emotion-analytics serve`` in a subprocess (temporary jobs database), then measures

* sync latency p50/p95 for 10 s and 60 s clips, with ``--concurrency`` requests in flight,
  against the baseline of `recognition.answer_v2` called in this process on the same clip
  (the ratio is what HTTP, base64, JSON and queuing add);
* async throughput: ``--jobs`` 10 s clips submitted with a webhook, jobs/s from the first
  submission to the last delivery, and accepted vs delivered counts (they must be equal);
* the server's peak memory (VmHWM of its process) under 8 parallel worst-case sync uploads:
  4 webm/Opus recordings of ``--worst-minutes`` whose header states no duration, and 4 WAVs
  whose header says 1 Hz (40,000 'seconds' in 80 KB); the server must refuse them all with 413
  and stay under 500 MB (exit code 1 otherwise). The peak after the normal phases is the
  baseline.

Every phase is bounded by ``--max-seconds``. Run::

    .venv/bin/python benchmarks/bench_server_load.py            # default, about a minute
    .venv/bin/python benchmarks/bench_server_load.py --jobs 100 --sync-requests 40
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from server_fixtures import V2_ASYNC, V2_SYNC, ServerProcess, audio_bytes  # noqa: E402

from emotion_analytics import recognition  # noqa: E402
from emotion_analytics.client import WebhookReceiver  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def sync_phase(url: str, seconds: float, n: int, concurrency: int, max_seconds: float) -> dict:
    data = audio_bytes(seconds, seed=int(seconds))
    body = {"content": base64.b64encode(data).decode()}
    recognition.answer_v2(data)  # warm-up (loads the model)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        recognition.answer_v2(data)
        runs.append(time.perf_counter() - t0)
    baseline = statistics.median(runs)
    deadline = time.monotonic() + max_seconds

    def one(_):
        if time.monotonic() > deadline:
            return None
        start = time.perf_counter()
        r = requests.post(url + V2_SYNC, json=body, timeout=300)
        r.raise_for_status()
        return time.perf_counter() - start

    with ThreadPoolExecutor(concurrency) as pool:
        latencies = [x for x in pool.map(one, range(n)) if x is not None]
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    return {"clip_s": seconds, "requests": len(latencies), "p50_s": p50, "p95_s": p95,
            "in_process_s": baseline, "p50_over_in_process": p50 / baseline}


def async_phase(url: str, jobs: int, max_seconds: float) -> dict:
    data = base64.b64encode(audio_bytes(10.0, seed=7)).decode()
    with WebhookReceiver() as hook:
        accepted = []
        t0 = time.perf_counter()
        for i in range(jobs):
            r = requests.post(url + V2_ASYNC, params={"webhook": hook.url,
                                                      "request_id": f"bench-{i}"},
                              json={"content": data}, timeout=60)
            if r.status_code == 202:
                accepted.append(r.json()["request_id"])
        submit_s = time.perf_counter() - t0
        deadline = time.monotonic() + max_seconds
        while len(hook.results) < len(accepted) and time.monotonic() < deadline:
            time.sleep(0.05)
        total = time.perf_counter() - t0
        delivered = set(hook.results) & set(accepted)
    return {"accepted": len(accepted), "delivered": len(delivered),
            "duplicates": len(hook.received) - len(hook.results),
            "submit_per_s": len(accepted) / submit_s, "jobs_per_s": len(delivered) / total,
            "seconds": total}


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a process so far (Linux: VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worst_case_phase(url: str, pid: int, minutes: float) -> dict:
    from test_server_limits import one_hertz_wav, webm_without_duration

    before = peak_rss_mb(pid)
    t0 = time.perf_counter()
    # a low bit rate, as a live recorder's speech: ~6 kbps, 2.7 MB an hour
    webm = base64.b64encode(webm_without_duration(minutes * 60, bit_rate=6000)).decode()
    wav = base64.b64encode(one_hertz_wav(40_000)).decode()
    made_s = time.perf_counter() - t0
    bodies = [{"content": webm}] * 4 + [{"content": wav}] * 4

    def one(body):
        return requests.post(url + V2_SYNC, json=body, timeout=600).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, bodies))
    return {"before_mb": before, "peak_mb": peak_rss_mb(pid), "statuses": statuses,
            "webm_mb": len(webm) * 3 / 4 / 1e6, "made_s": made_s}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2, help="server --workers")
    ap.add_argument("--concurrency", type=int, default=4, help="sync requests in flight")
    ap.add_argument("--sync-requests", type=int, default=16, help="requests per clip length")
    ap.add_argument("--jobs", type=int, default=40, help="async jobs (10 s clips)")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="cap of each phase")
    ap.add_argument("--worst-minutes", type=float, default=30.0,
                    help="minutes of Opus in each no-duration webm of the memory phase")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess("--allow-loopback-webhooks", "--jobs-db",
                               str(Path(tmp) / "jobs.sqlite3"), "--workers",
                               str(args.workers), "--log-level", "warning").start()
        try:
            print(f"server on {server.url}, workers={args.workers}, "
                  f"concurrency={args.concurrency}")
            for seconds in (10.0, 60.0):
                n = args.sync_requests if seconds <= 10 else max(4, args.sync_requests // 2)
                r = sync_phase(server.url, seconds, n, args.concurrency, args.max_seconds)
                print(f"sync {r['clip_s']:>4.0f} s clip: {r['requests']} requests, "
                      f"p50 {r['p50_s']:.3f} s, p95 {r['p95_s']:.3f} s; in-process "
                      f"{r['in_process_s']:.3f} s; p50 / in-process = "
                      f"{r['p50_over_in_process']:.2f}x")
            a = async_phase(server.url, args.jobs, args.max_seconds)
            print(f"async: accepted {a['accepted']}, delivered {a['delivered']} "
                  f"(duplicates {a['duplicates']}), {a['jobs_per_s']:.2f} jobs/s end to end, "
                  f"submissions {a['submit_per_s']:.1f}/s, {a['seconds']:.1f} s")
            if a["accepted"] != a["delivered"]:
                print("ERROR: accepted and delivered counts differ", file=sys.stderr)
                return 1
            w = worst_case_phase(server.url, server.proc.pid, args.worst_minutes)
            print(f"worst case, 8 parallel sync uploads (4 webm of {args.worst_minutes:g} min "
                  f"without duration, {w['webm_mb']:.1f} MB each; 4 WAVs saying 1 Hz): answers "
                  f"{sorted(set(w['statuses']))}; server peak memory {w['peak_mb']:.0f} MB "
                  f"(peak before: {w['before_mb']:.0f} MB; limit 500 MB)")
            if w["peak_mb"] >= 500 or set(w["statuses"]) != {413}:
                print("ERROR: worst-case uploads not refused within 500 MB", file=sys.stderr)
                return 1
        finally:
            server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
