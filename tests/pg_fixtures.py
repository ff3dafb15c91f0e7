"""A throwaway PostgreSQL cluster for the tests and the benchmark: ``initdb`` and ``postgres``
from Debian's ``postgresql`` package (``/usr/lib/postgresql/*/bin``, else ``PATH``), in a
temporary folder, on a free loopback port, stopped and deleted afterwards.

PostgreSQL refuses to run as root: under root the cluster belongs to the ``postgres`` user
(the package creates it) and its processes run as that user. `PgUnavailable` says why there
is no cluster (no binaries, no such user, no psycopg); tests skip on it.

>>> with PgCluster() as pg:  # doctest: +SKIP
...     store = PostgresJobStore(pg.url)
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from server_fixtures import free_port


class PgUnavailable(Exception):
    """No PostgreSQL cluster can be started here (the reason is the message)."""


def postgres_bindir() -> Path | None:
    """The newest folder holding ``initdb`` and ``postgres``, or ``None``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                   key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                   else 0)
    for folder in reversed(found):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("postgres") else None


class PgCluster:
    """``initdb`` + ``postgres`` in a temporary folder; ``url`` names database ``jobs``.

    ``durable=False`` (tests) turns fsync off; the benchmark keeps PostgreSQL's defaults.
    """

    def __init__(self, *, durable: bool = False, database: str = "jobs"):
        self.durable = durable
        self.database = database
        self.proc: subprocess.Popen | None = None
        self.dir: Path | None = None

    def __enter__(self) -> PgCluster:
        try:
            import psycopg
        except ImportError as exc:
            raise PgUnavailable("psycopg is not installed (the postgres extra)") from exc
        bindir = postgres_bindir()
        if bindir is None:
            raise PgUnavailable("no PostgreSQL server binaries (apt-get install postgresql)")
        user: dict = {}
        self.dir = Path(tempfile.mkdtemp(prefix="emotion-pg-"))
        if os.geteuid() == 0:  # postgres will not run as root
            import pwd

            try:
                pw = pwd.getpwnam("postgres")
            except KeyError as exc:
                shutil.rmtree(self.dir)
                raise PgUnavailable("running as root and there is no postgres user") from exc
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        try:
            subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                            "--auth=trust", "-E", "UTF8", "--no-sync"], cwd=self.dir,
                           check=True, capture_output=True, timeout=120, **user)
            self.port = free_port()
            settings = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                        "-c", "max_connections=200"]
            if not self.durable:
                settings += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                             "-c", "full_page_writes=off"]
            with open(self.log, "wb") as out:
                self.proc = subprocess.Popen(
                    [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port),
                     *settings], cwd=self.dir, stdout=out, stderr=subprocess.STDOUT, **user)
            admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
            deadline = time.monotonic() + 60
            while True:
                if self.proc.poll() is not None:
                    raise PgUnavailable("postgres exited: " + self.log.read_text()[-1500:])
                try:
                    with psycopg.connect(admin, autocommit=True, connect_timeout=2) as con:
                        con.execute(f'CREATE DATABASE "{self.database}"')
                    break
                except psycopg.OperationalError:
                    if time.monotonic() > deadline:
                        raise PgUnavailable("postgres did not come up: "
                                            + self.log.read_text()[-1500:]) from None
                    time.sleep(0.1)
        except (OSError, subprocess.SubprocessError, PgUnavailable) as exc:
            self.__exit__()
            if isinstance(exc, PgUnavailable):
                raise
            detail = getattr(exc, "stderr", b"") or b""
            raise PgUnavailable(f"cannot start PostgreSQL: {exc} {detail[-800:]!r}") from exc
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"
        return self

    def create_database(self, name: str) -> str:
        """A new empty database in the cluster; its URL."""
        import psycopg

        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown: clients are cut off
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
