"""A real Dask cluster, object storage and resumable output folders, end to end.

A ``dask scheduler`` and ``dask worker --nworkers 2`` run as subprocesses in another folder, as
they would on other machines; an S3-compatible server (moto) and an HTTP server run on loopback
in this process; ``emotion-analytics analyze`` runs as a subprocess, as a user runs it. The
recordings are pieces of the sample conversation (real speech), a few seconds each.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf

import emotion_analytics as ea
from emotion_analytics.batch import analyze_files
from emotion_analytics.results import read_manifest

distributed = pytest.importorskip("distributed")
pytest.importorskip("s3fs")
pytest.importorskip("pyarrow")
moto_server = pytest.importorskip("moto.server")

pytestmark = pytest.mark.slow

BUCKET = "corpus"
#: Seconds of the sample conversation in each piece (real speech, short to keep the tests quick).
PIECES = {"a.wav": (0.0, 7.0), "b.wav": (7.0, 13.0), "c.wav": (13.0, 21.0), "d.wav": (21.0, 27.0)}
DEADLINE = 180.0  # seconds to wait for a process to come up (the machine may be busy)
COMPARED = ["speaker", "start", "end", "duration", "emotion", "confidence"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _poll(check, what: str, deadline: float = DEADLINE, procs=()):
    """Call ``check`` until it returns something true; fail after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"{what}: a process exited with {proc.returncode}")
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what}: not after {deadline:g} s")


@pytest.fixture(scope="module")
def work(tmp_path_factory, sample_dir):
    """A folder with ``clips/`` (the pieces) where the client runs."""
    root = tmp_path_factory.mktemp("client")
    (root / "clips").mkdir()
    audio, sr = sf.read(sample_dir / "conversation.wav", dtype="float32")
    for name, (start, end) in PIECES.items():
        sf.write(root / "clips" / name, audio[int(start * sr):int(end * sr)], sr)
    return root


@pytest.fixture(scope="module")
def s3(work):
    """A real S3-compatible server on loopback holding the pieces under ``s3://corpus/calls/``."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(),
                                            verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    import boto3

    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"],
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    for name in PIECES:
        client.upload_file(str(work / "clips" / name), BUCKET, f"calls/{name}")
    client.put_object(Bucket=BUCKET, Key="calls/notes.txt", Body=b"not audio")
    yield env
    server.stop()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves ``clips/``; a GET of a path in ``gates`` waits until its event is set; logs GETs."""

    def __init__(self, *args, directory, log, gates, **kwargs):
        self._log, self._gates = log, gates
        super().__init__(*args, directory=directory, **kwargs)

    def do_GET(self):  # noqa: N802  (http.server's name)
        self._log.append(("GET", self.path))
        gate = self._gates.get(self.path)
        if gate is not None and not gate.wait(timeout=DEADLINE):
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def web(work):
    """An HTTP server on loopback serving ``clips/``, with a gate for chosen files."""
    state = {"log": [], "gates": {}}
    handler = functools.partial(_Handler, directory=str(work / "clips"), **state)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.handle_error = lambda *args: None  # a client killed mid-request is expected
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    for gate in state["gates"].values():
        gate.set()
    server.shutdown()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, s3):
    """``dask scheduler`` and ``dask worker --nworkers 2``, started in another folder."""
    elsewhere = tmp_path_factory.mktemp("workers")
    dask_cli = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, **s3, "PYTHONUNBUFFERED": "1"}
    logs = [open(elsewhere / name, "w") for name in ("scheduler.log", "workers.log")]  # noqa: SIM115
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], cwd=elsewhere, env=env,
                              stdout=logs[0], stderr=subprocess.STDOUT)]
    try:
        _poll(lambda: _listening(port), "the scheduler", procs=procs)
        procs.append(subprocess.Popen(
            [dask_cli, "worker", address, "--nworkers", "2", "--nthreads", "1",
             "--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "0"],
            cwd=elsewhere, env=env, stdout=logs[1], stderr=subprocess.STDOUT))
        with distributed.Client(address, timeout=DEADLINE) as client:
            _poll(lambda: len(client.scheduler_info(n_workers=-1)["workers"]) == 2,
                  "two workers", procs=procs)
            yield address, client, elsewhere
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _analyze(args, *, cwd, env=None, check=True):
    """Run ``emotion-analytics analyze ARGS`` as a subprocess; its CompletedProcess."""
    run = subprocess.run([sys.executable, "-m", "emotion_analytics.cli", "analyze", *args],
                         cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                         text=True, timeout=DEADLINE)
    if check and run.returncode != 0:
        pytest.fail(f"analyze {args} exited with {run.returncode}:\n{run.stderr[-3000:]}")
    return run


def _same_rows(got: pd.DataFrame, expected: pd.DataFrame, file: str) -> None:
    mine = got[got["file"].astype(str) == file]
    assert len(mine), f"no rows for {file}"
    cols = COMPARED + sorted(c for c in expected.columns if c.startswith("prob_"))
    pd.testing.assert_frame_equal(
        mine[cols].reset_index(drop=True).astype({"speaker": object, "emotion": object}),
        expected[cols].reset_index(drop=True).astype({"speaker": object, "emotion": object}),
        check_categorical=False)


@pytest.fixture(scope="module")
def local(work):
    """Each piece analysed here, in this process: the reference."""
    tables = {}
    for name in PIECES:
        table = analyze_files([work / "clips" / name]).table
        assert len(table), name
        tables[name] = table
    return tables


def test_a_cluster_in_another_folder_reads_relative_paths_s3_globs_and_urls(
        cluster, work, s3, web, local):
    address, client, _ = cluster
    url = f"{web['url']}/c.wav"
    run = _analyze(["clips/", f"s3://{BUCKET}/calls/*.wav", url, "--scheduler", address,
                    "-o", "table.csv", "-q"], cwd=work, env=s3)
    got = ea.read_table(work / "table.csv")
    expected_files = ([f"clips/{n}" for n in PIECES]
                      + [f"s3://{BUCKET}/calls/{n}" for n in PIECES] + [url])
    assert sorted(got["file"].astype(str).unique()) == sorted(expected_files), run.stderr
    for name in PIECES:
        _same_rows(got, local[name], f"clips/{name}")
        _same_rows(got, local[name], f"s3://{BUCKET}/calls/{name}")
    _same_rows(got, local["c.wav"], url)
    ran = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert "analyze_one" in ran  # the files were tasks on the cluster, not run by the client


def test_the_cluster_from_the_environment_and_a_worker_that_cannot_read_a_path(
        cluster, work, tmp_path):
    address, _, _ = cluster
    only_here = tmp_path / "only_on_the_client.wav"
    shutil.copy(work / "clips" / "a.wav", only_here)
    run = _analyze(["clips/a.wav", str(only_here), "-o", "env.csv"], cwd=work,
                   env={"DASK_SCHEDULER_ADDRESS": address}, check=False)
    assert f"running on the Dask scheduler {address} (from DASK_SCHEDULER_ADDRESS" in run.stderr
    assert run.returncode == 0, run.stderr  # both readable: the workers share this machine
    only_here.unlink()  # now no worker can read it
    result = analyze_files([only_here, work / "clips" / "a.wav"], scheduler=address)
    assert list(result.failures) == [str(only_here)]
    message = result.failures[str(only_here)]
    assert f"worker {address.rsplit(':', 1)[0]}:" in message
    assert f"cannot read {only_here}: no such file on that machine" in message
    assert "mounts at the same path" in message and "s3://" in message


def test_a_killed_worker_loses_nothing_and_every_file_is_written_once(cluster, work, web,
                                                                      local):
    address, client, _ = cluster
    gated = "/b.wav"
    web["gates"][gated] = threading.Event()
    files = ["clips/a.wav", f"{web['url']}{gated}", "clips/c.wav", "clips/d.wav"]
    out = work / "killed_worker"
    proc = subprocess.Popen([sys.executable, "-m", "emotion_analytics.cli", "analyze", *files,
                             "--scheduler", address, "-o", "killed_worker/", "-q"],
                            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # three files done; the gated one is being read by a worker, the only busy one
        _poll(lambda: len(_manifest_lines(out)) == 3 and ("GET", gated) in web["log"],
              "three files done and the fourth in flight", procs=[proc])
        busy = _poll(lambda: [w for w, keys in client.processing().items() if keys],
                     "the busy worker")
        assert len(busy) == 1
        (pid,) = client.run(os.getpid, workers=busy).values()
        os.kill(pid, signal.SIGKILL)
        web["gates"][gated].set()
        _, err = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()[-2000:]
    lines = _manifest_lines(out)
    assert sorted(e["file"] for e in lines) == sorted(files)  # each once, all done
    assert {e["status"] for e in lines} == {"done"}
    table = ea.read_results(out)
    for name, file in zip(PIECES, files, strict=True):
        _same_rows(table, local[name], file)


def test_the_workers_write_results_straight_into_a_bucket_and_a_rerun_skips_them(
        cluster, work, s3, local, monkeypatch):
    """``-o s3://corpus/results/``: parts and manifest lines are objects in the bucket, written
    by the workers and the client; nothing lands on this machine's disk; a rerun skips all."""
    import boto3

    address, client, _ = cluster
    out = f"s3://{BUCKET}/results/"
    _analyze(["clips/", "--scheduler", address, "-o", out, "-q"], cwd=work, env=s3)
    keys = [o["Key"] for o in boto3.client(
        "s3", endpoint_url=s3["AWS_ENDPOINT_URL"], aws_access_key_id="testing",
        aws_secret_access_key="testing", region_name="us-east-1",
    ).list_objects_v2(Bucket=BUCKET, Prefix="results/")["Contents"]]
    assert sum(k.startswith("results/part-") and k.endswith(".parquet") for k in keys) == 4
    assert sum(k.startswith("results/_manifest.d/") for k in keys) == 4, keys
    assert not (work / "s3:").exists()  # not a local folder named after the URL

    for key, value in s3.items():
        monkeypatch.setenv(key, value)
    table = ea.read_results(out)
    for name in PIECES:
        _same_rows(table, local[name], f"clips/{name}")
    lazy = ea.read_results(out, dask=True)
    assert lazy.npartitions == 4 and len(lazy.compute()) == len(table)
    manifest = read_manifest(out)
    assert sorted(manifest["file"]) == [f"clips/{n}" for n in PIECES]
    assert set(manifest["status"]) == {"done"}

    again = _analyze(["clips/", "--scheduler", address, "-o", out], cwd=work, env=s3)
    assert f"0 file(s) analysed, 4 already in {out}" in again.stdout, again.stdout
    with pytest.raises(ea.BadResponseError, match="no _manifest.d/ here"):
        ea.read_results(f"s3://{BUCKET}/calls/")
    wrong = _analyze(["clips/a.wav", "-o", "s3://no-such-bucket/results/"], cwd=work, env=s3,
                     check=False)
    assert wrong.returncode != 0
    assert "no bucket 'no-such-bucket' here" in wrong.stderr, wrong.stderr[-2000:]
    assert "Traceback" not in wrong.stderr


def test_urls_are_read_here_too_and_folders_and_globs_expand(s3, work, local, monkeypatch):
    for key, value in s3.items():
        monkeypatch.setenv(key, value)
    from emotion_analytics.batch import expand_files

    url = f"s3://{BUCKET}/calls/a.wav"
    _same_rows(ea.recognise(url), local["a.wav"], url)
    uri = (work / "clips" / "b.wav").as_uri()
    _same_rows(ea.recognise(uri), local["b.wav"], uri)
    wavs = [f"s3://{BUCKET}/calls/{n}" for n in PIECES]
    assert expand_files([f"s3://{BUCKET}/calls/"]) == wavs  # audio files only, not notes.txt
    assert expand_files([f"s3://{BUCKET}/calls/[ab].wav"]) == wavs[:2]
    with pytest.raises(ea.BadAudioError, match=r"s3://corpus/calls/none.wav: not found"):
        ea.recognise(f"s3://{BUCKET}/calls/none.wav")


def test_a_torn_manifest_line_is_skipped_and_the_next_entry_starts_on_its_own_line(tmp_path):
    from emotion_analytics.results import Manifest

    manifest = Manifest(tmp_path)
    manifest.append({"source": "/a.wav", "file": "a.wav", "status": "done"})
    with open(manifest.path, "a") as f:
        f.write('{"source": "/b.wav", "fi')  # a writer killed mid-line
    manifest.append({"source": "/c.wav", "file": "c.wav", "status": "failed"})
    assert {k: e["status"] for k, e in manifest.entries().items()} == {"/a.wav": "done",
                                                                       "/c.wav": "failed"}


def _manifest_lines(folder: Path) -> list[dict]:
    path = folder / "_manifest"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_killed_client_loses_only_the_file_in_flight_and_the_rerun_does_the_rest(
        work, web, local):
    out = work / "resumed"
    gated = "/c.wav"
    web["gates"][gated] = threading.Event()
    files = ["clips/a.wav", "clips/b.wav", f"{web['url']}{gated}", "clips/d.wav"]
    args = [*files, "-o", "resumed/"]
    proc = subprocess.Popen([sys.executable, "-m", "emotion_analytics.cli", "analyze", *args,
                             "-q"],
                            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _poll(lambda: len(_manifest_lines(out)) >= 2 and ("GET", gated) in web["log"],
              "two files in the manifest and the third one in flight", procs=[proc])
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    first = _manifest_lines(out)
    assert [e["file"] for e in first] == files[:2]
    assert all(e["status"] == "done" for e in first)
    assert len(list(out.glob("part-*.parquet"))) == 2

    web["gates"][gated].set()
    web["log"].clear()
    run = _analyze(args, cwd=work)
    assert "2 file(s) analysed, 2 already in resumed/" in run.stdout
    assert [p for m, p in web["log"] if m == "GET"] == [gated]  # only the missing URL is read
    lines = _manifest_lines(out)
    assert [e["file"] for e in lines] == files  # the first two are not analysed again

    table = ea.read_results(out)
    assert table["file"].astype(str).value_counts().to_dict().keys() == set(files)
    for name, file in zip(PIECES, files, strict=True):
        _same_rows(table, local[name], file)
    assert len(list(out.glob("part-*.parquet"))) == 4
    assert not list(out.glob(".*.tmp"))

    lazy = ea.read_results(out, dask=True)
    assert lazy.npartitions == 4
    pd.testing.assert_frame_equal(lazy.emotion.durations(partitioned_by_file=True),
                                  table.emotion.durations(), check_categorical=False,
                                  check_like=True)

    forced = analyze_files([work / f if not f.startswith("http") else f for f in files],
                           output=out, force=True)
    assert len(forced.done) == 4 and not forced.skipped
    assert len(list(out.glob("part-*.parquet"))) == 4  # replaced, not added
    assert len(ea.read_results(out)) == len(table)
