"""Throughput on a Dask cluster: 1 worker process against 2, results written where they land.

Makes N one-minute recordings from the sample conversation (real speech: ``data/conversation.wav``
looped, each file starting at another offset), then runs
``analyze_files(files, scheduler=client, output=DIR)`` -- what ``emotion-analytics analyze FILES
--scheduler ADDRESS -o DIR/`` does -- on a real ``dask scheduler`` with ``dask worker
--nworkers 1`` and then 2 (subprocesses; one thread each, BLAS single-threaded). Before each
timed run every worker analyses one file (loading the model), untimed. Prints audio-hours per
hour, the scaling ratio, each worker's peak resident memory, the audio-hours per hour of the
workers' CPU time (what each worker gets done when it has a core of its own: this shows whether
2 workers would scale on a quiet machine), and the client's peak: Python allocations
(tracemalloc) and resident memory, for N files and for N/4 files (flat in the number of files:
the client holds no table, only the manifest's lines go through it).

    nice -n 10 .venv/bin/python benchmarks/bench_cluster.py            # 200 files x 60 s
    .venv/bin/python benchmarks/bench_cluster.py --files 20 --seconds 10   # a quick look
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import soundfile as sf  # noqa: E402

from emotion_analytics.batch import analyze_files  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def make_files(folder: Path, n: int, seconds: float) -> list[str]:
    """``n`` recordings of ``seconds`` of the sample conversation, each from another offset."""
    audio, sr = sf.read(REPO / "data" / "conversation.wav", dtype="float32")
    length = int(seconds * sr)
    looped = np.tile(audio, int(np.ceil((length + len(audio)) / len(audio))))
    rng = np.random.default_rng(0)
    files = []
    for i in range(n):
        start = int(rng.integers(0, len(audio)))
        path = folder / f"call_{i:04d}.wav"
        sf.write(path, looped[start:start + length], sr)
        files.append(str(path))
    return files


def _worker_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


class _RssPeak:
    """The peak resident memory of this process, sampled every 20 ms in a thread."""

    def __init__(self):
        self.proc, self.peak, self._stop = psutil.Process(), 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run(client, files: list[str], out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cpu0 = client.run(_cpu_seconds)
    tracemalloc.start()
    with _RssPeak() as rss:
        base = rss.proc.memory_info().rss
        t0 = time.perf_counter()
        result = analyze_files(files, scheduler=client, output=out)
        wall = time.perf_counter() - t0
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cpu1 = client.run(_cpu_seconds)
    assert not result.failures, list(result.failures.items())[:2]
    assert len(result.done) == len(files)
    return {"wall": wall, "client_py_mb": py_peak / 2**20,
            "client_rss_growth_mb": (rss.peak - base) / 2**20, "client_rss_mb": rss.peak / 2**20,
            "workers_mb": sorted(client.run(_worker_peak_mb).values()),
            "worker_cpu": sum(cpu1[w] - cpu0[w] for w in cpu1)}


@contextlib.contextmanager
def cluster(n_workers: int, folder: Path):
    """``dask scheduler`` and ``dask worker --nworkers N`` as subprocesses; a client to them.

    The scheduler runs in its own process (not in this one, as a LocalCluster's does), so the
    client's memory measured here is the client's alone.
    """
    from distributed import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask_cli = str(Path(sys.executable).parent / "dask")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder}
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], **quiet)]
    procs.append(subprocess.Popen([dask_cli, "worker", address, "--nworkers", str(n_workers),
                                   "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
                                   "--memory-limit", "0"], **quiet))
    try:
        with Client(address, timeout=120) as client:
            client.wait_for_workers(n_workers, timeout=300)
            yield client
    finally:
        for proc in procs[::-1]:
            proc.terminate()
        for proc in procs[::-1]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_cluster_"))
    try:
        (tmp / "audio").mkdir()
        files = make_files(tmp / "audio", args.files, args.seconds)
        hours = args.files * args.seconds / 3600
        print(f"{args.files} files x {args.seconds:g} s = {hours:.2f} h of speech; "
              f"{psutil.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        rows = {}
        for n_workers in (1, 2):
            with cluster(n_workers, tmp) as client:
                # untimed: every worker loads the model on one file
                warm = analyze_files(files[:n_workers], scheduler=client,
                                     output=tmp / "warm", force=True)
                assert not warm.failures
                rows[n_workers] = run(client, files, tmp / f"out{n_workers}")
                if n_workers == 2:
                    rows["quarter"] = run(client, files[: max(1, args.files // 4)],
                                          tmp / "quarter")
        print(f"{'workers':>8} {'wall (s)':>9} {'audio-h/h':>10} {'per CPU-h':>10} "
              f"{'worker peak RSS (MB)':>22} {'client py peak (MB)':>20} {'client RSS (MB)':>16}")
        for key in (1, 2, "quarter"):
            r = rows[key]
            n = args.files if key != "quarter" else max(1, args.files // 4)
            label = f"{key}" if key != "quarter" else f"2 ({n} f)"
            speed = n * args.seconds / r["wall"]
            workers = ", ".join(f"{m:.0f}" for m in r["workers_mb"])
            per_cpu = n * args.seconds / r["worker_cpu"]
            print(f"{label:>8} {r['wall']:9.1f} {speed:10.0f} {per_cpu:10.0f} {workers:>22} "
                  f"{r['client_py_mb']:20.2f} {r['client_rss_mb']:16.0f}")
        ratio = rows[1]["wall"] / rows[2]["wall"]
        print(f"scaling 1 -> 2 workers: {ratio:.2f}x (target >= 1.8x)")
        q = rows["quarter"]["client_py_mb"]
        print(f"client Python peak: {q:.2f} MB for {max(1, args.files // 4)} files, "
              f"{rows[2]['client_py_mb']:.2f} MB for {args.files} files")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
