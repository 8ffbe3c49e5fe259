"""The SQLite run store: ``runs/<name>/run.db``. The only module of tinynas that speaks SQL.

Durability. The database is in WAL mode with ``synchronous=FULL`` and every write method is
one transaction that has committed when the method returns. A commit is appended to the WAL
file before the method returns, so it survives the process being killed at any moment
(``kill -9`` included: what is in the operating system's file cache is not lost with the
process), and with ``FULL`` the WAL is also fsynced at each commit, so it survives a power
cut as well. ``NORMAL`` would skip that fsync; a search writes a few rows per candidate,
each costing far more time to evaluate than an fsync, so the stronger setting is kept.
A transaction cut short by a kill is never committed and SQLite discards it on the next open.

Creation is atomic. A new store is built under a temporary name in the run folder
(:data:`CREATING_NAME`): its schema committed in rollback-journal mode, the file then marked as
WAL (no frame is ever written to a WAL of that name), and only then renamed to ``run.db``. A
process killed at any moment leaves either no ``run.db`` (create again; the next create
removes the temporary) or a complete store (open it).

Opening never loses data. SQLite deletes the WAL of a zero-length database file when it opens
it, read-only connections included (``pagerOpenWalIfPresent`` in pager.c), and with it every
write committed since the last checkpoint; every open and create first refuses a ``run.db``
shorter than an SQLite header beside a WAL that holds frames, touching neither file. Readers
open with ``mode=ro``: they never checkpoint, so never truncate or delete the WAL either.

One writer. A writable store holds ``run_dir/.lock`` (see ``_lock.py``) for its lifetime;
readers (``tinynas runs``) open the database read-only and take no lock, and WAL lets them read
while the writer writes.

Every ``sqlite3`` call runs inside :meth:`RunStore._session`, which begins, commits or rolls
back, and turns any ``sqlite3.Error`` into a :class:`~tinynas.errors.StoreError` with one clear
message (the pattern of optuna's ``_create_scoped_session``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinynas import __version__
from tinynas.errors import StoreError
from tinynas.store import _codec as codec
from tinynas.store._layout import CREATING_PREFIX, RunLayout
from tinynas.store._lock import LOCK_NAME, WriterLock
from tinynas.store._records import CandidateRecord, CandidateStatus
from tinynas.store._results import RunResults
from tinynas.store._schema import CANDIDATE_COLUMNS, DB_NAME, SCHEMA, SCHEMA_VERSION

if TYPE_CHECKING:
    from tinynas.space import Architecture

CREATING_NAME = CREATING_PREFIX  # a store being created; renamed to DB_NAME when complete
SIDE_SUFFIXES = ("-journal", "-wal", "-shm")  # the files SQLite keeps beside a database
_HEADER_BYTES = 100  # a database file shorter than its header holds no page
_WAL_HEADER_BYTES = 32  # a WAL no longer than its header holds no frame


class RunStore(RunResults):
    """The durable record of one search run.

    Lifecycle: :meth:`create` a new run (or :meth:`open` an existing one to resume it), write
    each result as it happens (:meth:`add_candidate`, :meth:`set_status`, :meth:`set_scores`,
    :meth:`add_training`, :meth:`add_measurement`, :meth:`mark_front`, :meth:`set_chosen`),
    then :meth:`finish` and :meth:`close` (or use the store as a context manager). Each write
    is one committed transaction. Reads return frozen records.
    """

    def __init__(
        self, conn: sqlite3.Connection, db_path: Path | None, lock: WriterLock | None,
        writable: bool,
    ) -> None:  # fmt: skip
        self._conn = conn
        self._mutex = threading.Lock()
        self.db_path = db_path
        self.writable = writable
        self._lock = lock
        self._made_folder = False  # create() made the run folder (discard() may remove it)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, run_dir: Path | str, config: dict[str, Any]) -> RunStore:
        """A new run in ``run_dir`` (created if missing), holding its writer lock.

        The store is built under :data:`CREATING_NAME` and renamed to ``run.db`` once complete
        (see the module docstring), all under the writer lock; a temporary left by a killed
        create is removed first. A ``run.db`` that exists already is refused if it holds
        tables, and otherwise given the schema in place (as before atomic creation).

        Raises:
            StoreError: the folder already holds a run, another process writes it, its files
                are damaged, or the folder or database cannot be created.
        """
        run_dir = Path(run_dir)
        made_folder = not run_dir.exists()
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(
                f"cannot create run folder '{run_dir}' ({e}); choose another --out"
            ) from e
        lock = _take_lock(run_dir)
        try:
            _refuse_lost_wal(run_dir / DB_NAME)
            built = not os.path.lexists(run_dir / DB_NAME)
            if built:
                cls._build(run_dir, config)
        except BaseException:
            lock.release()
            raise
        store = cls._connect_file(run_dir, writable=True, lock=lock)
        try:
            if not built:
                store._require_empty()
            store._use_wal()
            if not built:
                store._write_schema(config)
        except BaseException:
            store.close()
            raise
        store._made_folder = made_folder
        return store

    @classmethod
    def _build(cls, run_dir: Path, config: dict[str, Any]) -> None:
        """Write a complete new store under CREATING_NAME and rename it to DB_NAME; a failure
        removes the temporary where it can (the next create would)."""
        try:
            cls._build_and_rename(run_dir, config)
        except BaseException:
            with contextlib.suppress(StoreError):
                _remove_files(run_dir / CREATING_NAME, "the unfinished store")
            raise

    @classmethod
    def _build_and_rename(cls, run_dir: Path, config: dict[str, Any]) -> None:
        temp, db_path = run_dir / CREATING_NAME, run_dir / DB_NAME
        _remove_files(temp, "the unfinished store left by an earlier, interrupted creation")
        # a journal of a database that does not exist would be played back into the new one
        _remove_files(run_dir / f"{DB_NAME}-journal", "a journal left without its store",
                      suffixes=("",))  # fmt: skip
        conn = None
        try:
            conn = _connect(temp, writable=True)
            _configure(conn, writable=True)
            cls(conn, temp, None, writable=True)._write_schema(config)
            # the file itself says WAL from the start, so run.db never converts; the switch
            # writes the flag through the rollback journal and no frame reaches a -wal of
            # this temporary name (closing deletes that empty WAL)
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
        except sqlite3.Error as e:
            raise _translate(db_path, "create the run store", e) from e
        finally:
            if conn is not None:
                conn.close()
        try:
            os.replace(temp, db_path)
        except OSError as e:
            raise StoreError(f"cannot create the run store {db_path} ({e}); check the "
                             "folder's permissions and free space, or choose another --out"
                             ) from e  # fmt: skip
        _sync_folder(run_dir)

    @classmethod
    def open(cls, run_dir: Path | str, writable: bool = True) -> RunStore:
        """The existing run in ``run_dir``; writable (to resume it, holding its lock) or not.

        Raises:
            StoreError: no run there, the file is not a run store, the store was written by a
                newer tinynas, or (writable) another process writes it.
        """
        run_dir = Path(run_dir)
        db_path = run_dir / DB_NAME
        if not db_path.is_file():
            raise StoreError(f"no run store at {db_path}; see 'tinynas runs' for the runs there")
        store = cls._connect_file(run_dir, writable)
        try:
            store._check_schema()
            if writable:
                store._use_wal()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def holds_run(cls, run_dir: Path | str) -> bool:
        """Whether ``run_dir/run.db`` holds anything: False when there is none, or when it is
        an empty database (no tables, no writes in its WAL), which is what a creation cut
        short leaves behind; a file that is not SQLite counts as something held.

        Raises:
            StoreError: run.db is damaged in a way that opening it would lose data.
        """
        db_path = Path(run_dir) / DB_NAME
        _refuse_lost_wal(db_path)
        if not os.path.lexists(db_path):
            return False
        try:
            if db_path.stat().st_size == 0:
                return False
        except OSError as e:
            raise StoreError(f"cannot read {db_path} ({e}); check the run folder's "
                             "permissions") from e  # fmt: skip
        conn = None
        try:
            conn = _connect(db_path, writable=False)
            _configure(conn, writable=False)
            return conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] > 0
        except sqlite3.Error:
            return True  # not an SQLite file, or an unreadable one: not ours to take over
        finally:
            if conn is not None:
                conn.close()

    @classmethod
    def memory(cls, config: dict[str, Any] | None = None) -> RunStore:
        """A store that lives in memory only (tests, dry runs): same behaviour, no file."""
        conn = _connect(None, writable=True)
        _configure(conn, writable=True)
        store = cls(conn, None, None, writable=True)
        store._write_schema(config or {})
        return store

    @classmethod
    def _connect_file(
        cls, run_dir: Path, writable: bool, lock: WriterLock | None = None
    ) -> RunStore:
        """A store on run_dir's database; a writer takes the lock unless given it, and a
        failure releases it."""
        if writable and lock is None:
            lock = _take_lock(run_dir)
        db_path = run_dir / DB_NAME
        conn = None
        try:
            _refuse_lost_wal(db_path)
            conn = _connect(db_path, writable)
            _configure(conn, writable)
        except BaseException as e:
            if conn is not None:
                conn.close()
            if lock is not None:
                lock.release()
            if isinstance(e, sqlite3.Error):
                raise _translate(db_path, "open the run store", e) from e
            raise
        return cls(conn, db_path, lock, writable)

    def _use_wal(self) -> None:
        """Switch the file to WAL mode (it stays so); done only once it is known to be ours."""
        with self._mutex:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL").fetchone()
            except sqlite3.Error as e:
                raise _translate(self.db_path, "switch the store to WAL mode", e) from e

    def _require_empty(self) -> None:
        if self._table_names():
            raise StoreError(
                f"run '{self.name}' already exists ({self.db_path}); continue it with --resume "
                "or choose another --out"
            )

    def _write_schema(self, config: dict[str, Any]) -> None:
        meta = {
            "config": config, "status": "running", "created_at": codec.now(),
            "tinynas_version": __version__,
        }  # fmt: skip
        meta.update({k: config[k] for k in ("device", "dataset", "seed") if k in config})
        encoded = [(key, codec.dumps(value, f"meta '{key}'")) for key, value in meta.items()]
        with self._session("create the run store", write=True) as cur:
            for statement in SCHEMA:
                cur.execute(statement)
            cur.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            cur.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", encoded)

    def _check_schema(self) -> None:
        if "schema_version" not in self._table_names():
            raise StoreError(
                f"{self.db_path} is not a tinynas run store (no schema_version table): move it "
                "away or choose another --out"
            )
        with self._session("read the schema version") as cur:
            row = cur.execute("SELECT MAX(version) FROM schema_version").fetchone()
        version = row[0]
        if not isinstance(version, int) or version < 1:
            raise StoreError(f"{self.db_path} has no valid schema version ({version!r}): move it "
                             "away or choose another --out")  # fmt: skip
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.db_path} was written by a newer tinynas (store schema {version}; this "
                f"tinynas {__version__} reads up to {SCHEMA_VERSION}); upgrade tinynas"
            )

    def _table_names(self) -> set[str]:
        with self._session("list the tables") as cur:
            rows = cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {row[0] for row in rows}

    # -- the one place that talks to sqlite3 -----------------------------------------------

    @contextlib.contextmanager
    def _session(self, action: str, write: bool = False) -> Iterator[sqlite3.Cursor]:
        """One transaction: begin, yield a cursor, commit; roll back and translate on error."""
        if write and not self.writable:
            raise StoreError(f"run '{self.name}' was opened read-only; cannot {action}")
        with self._mutex:
            try:
                cur = self._conn.cursor()
            except sqlite3.ProgrammingError as e:
                raise StoreError(f"run '{self.name}' is closed; cannot {action}") from e
            try:
                cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield cur
                cur.execute("COMMIT")
            except sqlite3.Error as e:
                self._rollback()
                raise _translate(self.db_path, action, e) from e
            except codec.DamagedRow as e:
                self._rollback()
                where = self.db_path or "in memory"
                raise StoreError(
                    f"run '{self.name}' is damaged ({where}): {e}; could not {action}. Copy the "
                    "run folder first, then repair or delete that row with sqlite3, or start a "
                    "new run with another --out"
                ) from e
            except BaseException:
                self._rollback()
                raise
            finally:
                cur.close()

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self._conn.in_transaction:
                self._conn.rollback()

    # -- candidates ------------------------------------------------------------------------

    def add_candidate(
        self,
        arch: Architecture,
        status: CandidateStatus | str = CandidateStatus.PROPOSED,
        estimates: dict[str, Any] | None = None,
        scores: dict[str, float] | None = None,
        reject_reason: str | None = None,
    ) -> CandidateRecord:
        """Store a candidate; one with the same content hash is returned unchanged instead.

        Args:
            arch: the architecture; identified by its ``content_hash``.
            status: its status now.
            estimates: estimated resources (``flash_bytes``, ``latency_ms``, ...).
            scores: trainingless metric scores.
            reject_reason: which budget it broke; required for ``REJECTED``, else None.

        Returns:
            The stored record: the new one, or the one stored before with this hash.
        """
        status = codec.status(status, reject_reason)
        now = codec.now()
        row = (
            arch.content_hash, arch.to_json(indent=None), status.value, reject_reason,
            codec.dumps(estimates or {}, "estimates"), codec.dumps(scores or {}, "scores"),
            now, now,
        )  # fmt: skip
        with self._session("add a candidate", write=True) as cur:
            cur.execute(
                "INSERT INTO candidates (hash, arch_json, status, reject_reason, estimates_json, "
                "scores_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (hash) DO NOTHING",
                row,
            )
            found = self._select_candidates(cur, "WHERE hash = ?", (arch.content_hash,))
        return found[0]

    def set_status(
        self, candidate_id: int, status: CandidateStatus | str, reject_reason: str | None = None
    ) -> CandidateRecord:
        """Move a candidate to ``status`` (``REJECTED`` needs its ``reject_reason``)."""
        status = codec.status(status, reject_reason)
        with self._session("set a candidate's status", write=True) as cur:
            cur.execute(
                "UPDATE candidates SET status = ?, reject_reason = ?, updated_at = ? WHERE id = ?",
                (status.value, reject_reason, codec.now(), candidate_id),
            )
            return self._one_candidate(cur, candidate_id)

    def set_scores(self, candidate_id: int, scores: dict[str, float]) -> CandidateRecord:
        """Add or replace metric scores of a candidate (scores not named are kept)."""
        with self._session("set a candidate's scores", write=True) as cur:
            merged = {**self._one_candidate(cur, candidate_id).scores, **scores}
            cur.execute(
                "UPDATE candidates SET scores_json = ?, updated_at = ? WHERE id = ?",
                (codec.dumps(merged, "scores"), codec.now(), candidate_id),
            )
            return self._one_candidate(cur, candidate_id)

    def candidates(
        self, status: CandidateStatus | str | Iterable[CandidateStatus | str] | None = None
    ) -> list[CandidateRecord]:
        """The candidates in the order they were added, optionally only those of ``status``."""
        where, args = _status_clause(status)
        with self._session("read the candidates") as cur:
            return self._select_candidates(cur, f"{where} ORDER BY id", args)

    def candidate(self, candidate_id: int) -> CandidateRecord:
        """One candidate by id; a StoreError names an unknown id."""
        with self._session("read a candidate") as cur:
            return self._one_candidate(cur, candidate_id)

    def find(self, content_hash: str) -> CandidateRecord | None:
        """The candidate with this architecture hash, or None."""
        with self._session("find a candidate") as cur:
            found = self._select_candidates(cur, "WHERE hash = ?", (content_hash,))
        return found[0] if found else None

    def count(
        self, status: CandidateStatus | str | Iterable[CandidateStatus | str] | None = None
    ) -> int:
        """How many candidates there are (of ``status``, if given)."""
        where, args = _status_clause(status)
        with self._session("count the candidates") as cur:
            return int(cur.execute(f"SELECT COUNT(*) FROM candidates {where}", args).fetchone()[0])

    def _select_candidates(
        self, cur: sqlite3.Cursor, clause: str, args: tuple[Any, ...]
    ) -> list[CandidateRecord]:
        rows = cur.execute(f"SELECT {CANDIDATE_COLUMNS} FROM candidates {clause}", args)
        return [codec.candidate(row) for row in rows.fetchall()]

    def _one_candidate(self, cur: sqlite3.Cursor, candidate_id: int) -> CandidateRecord:
        found = self._select_candidates(cur, "WHERE id = ?", (candidate_id,))
        if not found:
            raise StoreError(f"no candidate {candidate_id} in run '{self.name}'; "
                             "see 'tinynas runs show' for its candidates")  # fmt: skip
        return found[0]

    # -- housekeeping ----------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The run's name: its folder's name (``:memory:`` for a memory store)."""
        return ":memory:" if self.db_path is None else self.db_path.parent.name

    @property
    def run_dir(self) -> Path | None:
        """The run folder (None for a memory store)."""
        return None if self.db_path is None else self.db_path.parent

    @property
    def layout(self) -> RunLayout | None:
        """Where the run keeps its files (None for a memory store, which keeps none)."""
        return None if self.db_path is None else RunLayout(self.db_path.parent)

    def close(self) -> None:
        """Close the database and drop the writer lock; a second call does nothing."""
        with self._mutex:
            self._conn.close()
        if self._lock is not None:
            self._lock.release()

    def discard(self) -> None:
        """Close a run this process created and remove what it stored: the database, its side
        files and the lock file, and the run folder when :meth:`create` made it and nothing
        else is in it. For a run that produced nothing worth keeping (no candidate fits its
        budget), so that the same ``--out`` can be used again with other settings.

        Raises:
            StoreError: a memory or read-only store, or a file that cannot be removed.
        """
        if self.db_path is None or not self.writable:
            raise StoreError("only a writable run store on disk can be discarded")
        run_dir = self.db_path.parent
        with self._mutex:
            self._conn.close()
        try:
            _remove_files(self.db_path, "the store of a run that kept nothing")
            (run_dir / LOCK_NAME).unlink(missing_ok=True)  # before the lock is dropped
        except OSError as e:
            raise StoreError(f"cannot remove the lock file in {run_dir} ({e}); remove it by "
                             "hand") from e  # fmt: skip
        finally:
            self.close()
        if self._made_folder:
            with contextlib.suppress(OSError):  # not empty, or gone: leave it
                run_dir.rmdir()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _status_clause(
    status: CandidateStatus | str | Iterable[CandidateStatus | str] | None,
) -> tuple[str, tuple[str, ...]]:
    """A WHERE clause and its arguments for candidates of one or more statuses (or all)."""
    if status is None:
        return "", ()
    values = codec.status_values(status)
    return f"WHERE status IN ({', '.join('?' * len(values))})", values


def _take_lock(run_dir: Path) -> WriterLock:
    """The run folder's writer lock, taken."""
    lock = WriterLock(run_dir)
    try:
        lock.acquire()
    except OSError as e:
        raise StoreError(f"cannot lock run folder '{run_dir}' ({e}); check its permissions") from e
    return lock


def _refuse_lost_wal(db_path: Path) -> None:
    """Refuse a database file that is missing or shorter than an SQLite header while its WAL
    holds frames, before SQLite opens it and deletes the WAL (see the module docstring).

    A kill can leave a header-only ``run.db`` with every commit in the WAL; if ``run.db`` is
    then emptied or lost, the WAL is all that is left of the run. Nothing is opened or changed.
    """
    wal = db_path.with_name(f"{db_path.name}-wal")
    try:
        wal_bytes = wal.stat().st_size if os.path.lexists(wal) else 0
        db_bytes = db_path.stat().st_size if os.path.lexists(db_path) else None
    except OSError as e:
        raise StoreError(f"cannot read {db_path} or its WAL ({e}); check the run folder's "
                         "permissions") from e  # fmt: skip
    if wal_bytes <= _WAL_HEADER_BYTES or (db_bytes is not None and db_bytes >= _HEADER_BYTES):
        return
    if db_bytes is None:
        state, risk = "is missing", "a new store there would take them up as its own"
    else:
        state = f"is {db_bytes} bytes (shorter than an SQLite header)"
        risk = "SQLite would delete them on opening it"
    raise StoreError(
        f"{db_path} is damaged: it {state} while {wal.name} beside it holds {wal_bytes:,} bytes "
        f"of the run's writes ({risk}); nothing was opened or changed. Keep the files "
        f"(copy the folder '{db_path.parent}' before trying anything), "
        f"then restore {db_path.name} from a backup, or start a new run with another --out"
    )


def _remove_files(path: Path, what: str, suffixes: tuple[str, ...] = ("", *SIDE_SUFFIXES)) -> None:
    """Remove `path` and its SQLite side files where they exist."""
    for suffix in suffixes:
        try:
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        except OSError as e:
            raise StoreError(f"cannot remove {path}{suffix}, {what} ({e}); remove it by hand "
                             "or choose another --out") from e  # fmt: skip


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (fsync of the folder; not every file system can)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _connect(db_path: Path | None, writable: bool) -> sqlite3.Connection:
    """A connection in autocommit mode, so that ``_session`` alone opens transactions."""
    if db_path is None:
        target, uri = ":memory:", False
    elif writable:
        target, uri = str(db_path), False
    else:
        target, uri = db_path.resolve().as_uri() + "?mode=ro", True
    conn = sqlite3.connect(target, uri=uri, isolation_level=None, check_same_thread=False,
                           timeout=10.0)  # fmt: skip
    conn.row_factory = sqlite3.Row
    return conn


def _configure(conn: sqlite3.Connection, writable: bool) -> None:
    """FULL sync for the writer (see the module docstring), read-only for readers; the probe
    fails with "file is not a database" before anything is written to a file that is not one."""
    if writable:
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    else:
        conn.execute("PRAGMA query_only = ON")
    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()


def _translate(db_path: Path | None, action: str, e: sqlite3.Error) -> StoreError:
    """One clear StoreError for an sqlite3 error."""
    where = db_path if db_path is not None else "the in-memory run store"
    text = str(e)
    if "file is not a database" in text:
        return StoreError(f"{where} is not a tinynas run store (file is not a database): move it "
                          "away or choose another --out")  # fmt: skip
    if "malformed" in text:
        return StoreError(f"{where} is damaged ({text}): move it away or choose another --out")
    if isinstance(e, sqlite3.OperationalError) and "locked" in text:
        return StoreError(f"{where} is locked by another connection ({text}); could not "
                          f"{action}; wait for it to finish")  # fmt: skip
    return StoreError(f"{where}: could not {action} ({type(e).__name__}: {text})")
