"""The tables of a run store, as SQL text (executed only by ``_store.py``).

``meta`` holds JSON values under keys: config, device, dataset, seed, status ("running",
"finished", ...), created_at, finished_at, tinynas_version, chosen_candidate_id. Bump
``SCHEMA_VERSION`` on any change to these tables; a store with a newer version is refused.
"""

from __future__ import annotations

from tinynas.store._records import CandidateStatus, Provenance

DB_NAME = "run.db"  # in the run folder
SCHEMA_VERSION = 1
ACCURACY_METRICS = ("val_accuracy", "test_accuracy", "int8_accuracy")

STATUSES_SQL = ", ".join(f"'{s.value}'" for s in CandidateStatus)
PROVENANCES_SQL = ", ".join(f"'{p.value}'" for p in Provenance)
SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"""CREATE TABLE candidates (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        arch_json TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ({STATUSES_SQL})),
        reject_reason TEXT,
        estimates_json TEXT NOT NULL,
        scores_json TEXT NOT NULL,
        on_front INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    "CREATE INDEX candidates_status ON candidates (status)",
    """CREATE TABLE trainings (
        id INTEGER PRIMARY KEY,
        candidate_id INTEGER NOT NULL REFERENCES candidates (id),
        stage TEXT NOT NULL,
        epochs REAL NOT NULL,
        seed INTEGER NOT NULL,
        val_accuracy REAL,
        test_accuracy REAL,
        int8_accuracy REAL,
        train_seconds REAL NOT NULL,
        device TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    "CREATE INDEX trainings_candidate ON trainings (candidate_id)",
    f"""CREATE TABLE measurements (
        id INTEGER PRIMARY KEY,
        candidate_id INTEGER NOT NULL REFERENCES candidates (id),
        kind TEXT NOT NULL,
        value_json TEXT NOT NULL,
        provenance TEXT NOT NULL CHECK (provenance IN ({PROVENANCES_SQL})),
        created_at TEXT NOT NULL)""",
    "CREATE INDEX measurements_candidate ON measurements (candidate_id)",
)
CANDIDATE_COLUMNS = (
    "id, hash, arch_json, status, reject_reason, estimates_json, scores_json, on_front, "
    "created_at, updated_at"
)
