"""Files as tasks on a real Dask cluster of two worker processes."""

from __future__ import annotations

import pandas as pd
import pytest

import emotion_analytics as ea
from emotion_analytics.batch import analyze_files

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def test_files_run_as_tasks_and_failures_stay_per_file(client, sample_dir, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    files = [sample_dir / "conversation.wav", bad, sample_dir / "call_stereo.ogg"]
    result = analyze_files(files, scheduler=client)
    assert list(result.failures) == [str(bad)]
    expected = analyze_files([files[0], files[2]])
    pd.testing.assert_frame_equal(result.table, expected.table)
    ran_on = client.run(lambda: __import__("os").getpid())
    assert len(ran_on) == 2


def test_recognise_accepts_a_scheduler_address(client, sample_dir):
    address = client.scheduler.address
    df = ea.recognise([sample_dir / "conversation.wav"], scheduler=address)
    assert len(df) and (df["file"] == str(sample_dir / "conversation.wav")).all()


def test_workers_write_parts_and_the_client_only_the_manifest(client, sample_dir, tmp_path):
    files = [sample_dir / "call_stereo.ogg", sample_dir / "conversation.wav"]  # read_results' order
    out = tmp_path / "out"
    result = analyze_files(files, scheduler=client, output=out)
    assert result.table is None and sorted(result.done) == sorted(str(f) for f in files)
    expected = analyze_files(files).table
    got = ea.read_results(out)
    pd.testing.assert_frame_equal(got, expected, check_categorical=False, check_like=True)
    again = analyze_files(files, scheduler=client, output=out)
    assert again.done == [] and again.skipped == [str(f) for f in files]
