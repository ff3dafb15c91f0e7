"""Where recordings live: local paths and URLs of object storage, read through fsspec.

A path is accepted everywhere as a local path or as a URL: ``s3://bucket/calls/a.wav``,
``gs://``, ``az://`` (also ``abfs://``), ``http(s)://`` and ``file://``. URLs are opened with
`fsspec <https://filesystem-spec.readthedocs.io>`_ as seekable streams that fetch byte ranges
into a small read-ahead buffer (`BLOCK_SIZE`), so a recording of hours is decoded block by block
with bounded memory and never downloaded whole, to memory or to a temporary folder.

fsspec and its backends are optional: ``pip install 'emotion_analytics[cloud]'`` installs fsspec,
s3fs, gcsfs, adlfs and aiohttp (for ``http(s)://``). Without them an ``http(s)://`` URL is still
read, downloaded whole into memory with requests; the other schemes raise
`~emotion_analytics.MissingDependencyError` naming the extra.

Credentials and endpoints come from each backend's usual places (``AWS_*`` environment
variables and ``~/.aws``, ``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_STORAGE_*``) and from
fsspec's configuration (``FSSPEC_S3_ENDPOINT_URL=...``, or ``~/.config/fsspec/*.json``), on the
client and on every worker.

>>> protocol("s3://bucket/a.wav"), protocol("calls/a.wav"), protocol(r"C:\\calls\\a.wav")
('s3', None, None)
>>> local_path("file:///srv/calls/a.wav")
'/srv/calls/a.wav'
"""

from __future__ import annotations

import glob as _glob
import os
import re
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from .errors import BadAudioError, MissingDependencyError, require

__all__ = ["BLOCK_SIZE", "protocol", "is_url", "local_path", "filesystem", "open_url", "expand_url",
           "identity", "for_workers"]

#: Bytes fetched per range request of a URL's read-ahead buffer (the memory one open URL takes).
BLOCK_SIZE = 4 * 2**20

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
#: The package each scheme's fsspec backend comes from (all in the ``cloud`` extra).
_BACKENDS = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs",
             "abfs": "adlfs", "abfss": "adlfs", "http": "aiohttp", "https": "aiohttp"}
_HTTP = ("http", "https")


def protocol(source: Any) -> str | None:
    """The URL scheme of a source (lower case), or ``None`` for a local path or other source."""
    if not isinstance(source, str):
        return None
    match = _SCHEME.match(source)
    return match.group(1).lower() if match else None


def is_url(source: Any) -> bool:
    """True for a URL read through fsspec or HTTP (any scheme but ``file://``).

    >>> is_url("gs://b/a.wav"), is_url("file:///a.wav"), is_url("a.wav")
    (True, False, False)
    """
    return protocol(source) not in (None, "file")


def local_path(source: str) -> str:
    """The local path of a ``file://`` URL (other strings are returned as they are)."""
    if protocol(source) != "file":
        return source
    parts = urlsplit(source)
    path = unquote(parts.path)
    if parts.netloc and parts.netloc != "localhost":
        path = f"//{parts.netloc}{path}"
    return path


def for_workers(source: Any) -> Any:
    """What to send to a worker for a source: local paths made absolute, URLs unchanged.

    A relative path means nothing on another machine or in a worker started in another folder;
    an absolute path works wherever the same storage is mounted at the same place.

    >>> for_workers("file:///srv/a.wav"), for_workers("s3://b/a.wav")
    ('/srv/a.wav', 's3://b/a.wav')
    """
    if isinstance(source, str) and is_url(source):
        return source
    if isinstance(source, (str, os.PathLike)):
        return os.path.abspath(local_path(os.fspath(source)))
    return source


def filesystem(url: str):
    """``(fsspec filesystem, path in it)`` of a URL; a clear error when a package is missing."""
    scheme = protocol(url)
    fsspec = require("fsspec", "cloud")
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        package = _BACKENDS.get(scheme, f"the fsspec backend for {scheme}://")
        raise MissingDependencyError(
            f"{url}: {scheme}:// URLs need the optional package {package!r}, which is "
            "not installed. Install it with: pip install 'emotion_analytics[cloud]'"
        ) from exc
    except ValueError as exc:  # fsspec: "Protocol not known"
        raise BadAudioError(f"{url}: unknown URL scheme {scheme!r} ({exc}); use s3://, gs://, "
                            "az://, http(s):// or file://") from None


def _has_fsspec(url: str) -> bool:
    try:
        filesystem(url)
    except MissingDependencyError:
        return False
    return True


def open_url(url: str) -> IO[bytes] | bytes:
    """Open a URL for reading: a seekable binary stream over byte ranges.

    Without fsspec (the ``cloud`` extra), an ``http(s)://`` URL is downloaded into memory and
    its bytes are returned instead.

    Raises
    ------
    BadAudioError
        Not found, access denied, or unreachable (the message names the URL).
    MissingDependencyError
        The scheme's fsspec backend is not installed.
    """
    if protocol(url) in _HTTP and not _has_fsspec(url):
        return _download(url)
    fs, path = filesystem(url)
    try:
        return fs.open(path, "rb", block_size=BLOCK_SIZE, cache_type="readahead")
    except FileNotFoundError:
        status = " (HTTP 404)" if protocol(url) in _HTTP else ""
        raise BadAudioError(f"{url}: not found{status}; check the URL (bucket, key, folder)"
                            ) from None
    except PermissionError as exc:
        raise BadAudioError(f"{url}: access denied ({exc}); check the credentials this machine "
                            "uses for the storage (environment variables, config files)") from None
    except Exception as exc:  # network errors of every backend
        raise BadAudioError(f"{url}: cannot open the URL ({type(exc).__name__}: {exc})") from None


def _download(url: str) -> bytes:
    import requests

    try:
        answer = requests.get(url, timeout=60.0)
    except requests.RequestException as exc:
        raise BadAudioError(f"{url}: cannot download the audio ({exc})") from None
    if answer.status_code != 200:
        raise BadAudioError(f"{url}: cannot download the audio: HTTP {answer.status_code}")
    if not answer.content:
        raise BadAudioError(f"{url}: no audio: the download is empty")
    return answer.content


def expand_url(pattern: str, suffixes: tuple[str, ...]) -> list[str]:
    """The URLs a URL argument stands for: a glob's matches, a folder's audio files, or itself.

    ``http(s)://`` URLs are taken as files (a web server lists no folders). A folder is a URL
    ending in ``/`` or one the storage reports as a folder; its files whose names end with one
    of ``suffixes`` are taken, not its sub-folders.
    """
    if protocol(pattern) in _HTTP:
        return [pattern]
    fs, path = filesystem(pattern)
    if _glob.has_magic(path):
        found = fs.glob(path, detail=True)
        return sorted(fs.unstrip_protocol(p) for p, info in found.items()
                      if info.get("type") != "directory")
    if pattern.endswith("/") or fs.isdir(path):
        listed = fs.ls(path.rstrip("/"), detail=True)
        return sorted(fs.unstrip_protocol(info["name"]) for info in listed
                      if info.get("type") != "directory"
                      and info["name"].lower().endswith(suffixes))
    return [pattern]


def identity(source: Any) -> dict | None:
    """What tells a recording apart from a changed one: size and mtime, or size and ETag.

    For a local path: ``{"size", "mtime_ns"}``; for a URL: ``{"size", "etag"}`` (the ETag, or
    the MD5 or the modification time where a store has no ETag). ``None`` when it cannot be
    read here (a path only the workers see): such a file is then matched by its path alone.

    >>> identity("no/such/file.wav") is None
    True
    """
    if not isinstance(source, (str, os.PathLike)):
        return None
    if isinstance(source, str) and is_url(source):
        try:
            fs, path = filesystem(source)
            info = fs.info(path)
        except Exception:  # unreachable or missing here: the worker reports it
            return None
        tag = next((info[k] for k in ("ETag", "etag", "md5Hash", "Content-MD5", "LastModified",
                                      "last_modified", "Last-Modified", "mtime", "updated")
                    if info.get(k) is not None), None)
        return {"size": info.get("size"), "etag": None if tag is None else str(tag)}
    try:
        st = os.stat(local_path(os.fspath(source)))
    except OSError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
