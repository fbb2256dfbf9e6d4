"""A throw-away local PostgreSQL server for tests, benchmarks and trying the hub out.

Runs ``initdb`` into a fresh directory and ``pg_ctl start`` listening only on a unix socket in
that directory (no TCP), as the ``postgres`` system user when started by root. Stopped and
removed on exit.

Example:
    >>> with TempPostgres() as pg:          # doctest: +SKIP
    ...     pg.url
    'postgresql+psycopg://postgres@/hedgerow?host=/tmp/hr-hub-pg-x1y2/sock&port=5432'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

PG_BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin",
               "/usr/lib/postgresql/15/bin")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries, or the cluster could not be started."""


def find_pg_bin() -> Path:
    """The directory holding ``initdb``/``pg_ctl`` (``$HEDGEROW_PG_BIN`` wins)."""
    candidates = [os.environ.get("HEDGEROW_PG_BIN", ""), *PG_BIN_DIRS]
    for directory in candidates:
        if directory and (Path(directory) / "initdb").exists():
            return Path(directory)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                              "install the `postgresql` Debian package")


class TempPostgres:
    """Context manager: a private PostgreSQL cluster with database ``dbname``."""

    def __init__(self, dbname: str = "hedgerow", port: int = 5432,
                 settings: dict[str, str] | None = None) -> None:
        self.dbname = dbname
        self.port = port
        self.settings = {"fsync": "off", "synchronous_commit": "off",
                         "full_page_writes": "off", **(settings or {})}
        self.bin = find_pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="hr-hub-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self._user: str | None = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return (f"postgresql+psycopg://postgres@/{self.dbname}"
                f"?host={self.sock}&port={self.port}")

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self._user:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(args[:2])}: {proc.stderr.strip()[-400:]}")

    def start(self) -> TempPostgres:
        self.sock.mkdir()
        if self._user:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, self._user, self._user)
            shutil.chown(self.sock, self._user, self._user)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--no-sync")
        opts = " ".join(["-c listen_addresses=''", f"-k {self.sock}", f"-p {self.port}",
                         *(f"-c {k}={v}" for k, v in self.settings.items())])
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts,
                  "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")
        self._run(str(self.bin / "createdb"), "-h", str(self.sock), "-p", str(self.port),
                  "-U", "postgres", self.dbname)
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PostgresUnavailable):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> TempPostgres:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
