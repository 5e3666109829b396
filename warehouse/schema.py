"""Schema ``raw`` (docs/CONTRACTS.md): its tables, written only by ``warehouse.loader``, and
the migration of a warehouse made by an older version (run by every load)."""
from __future__ import annotations

import duckdb

OBSERVATIONS_COLUMNS = {
    "indicator_code": "VARCHAR NOT NULL", "unit_code": "INTEGER NOT NULL", "year": "INTEGER NOT NULL",
    "value": "DOUBLE", "unit": "VARCHAR", "reported_value": "DOUBLE", "reported_unit": "VARCHAR",
    "source_file": "VARCHAR", "source_line": "INTEGER", "vintage": "VARCHAR", "loaded_at": "TIMESTAMP",
    "batch_id": "VARCHAR", "rounding": "DOUBLE",
}
REVISIONS_COLUMNS = {
    "indicator_code": "VARCHAR", "unit_code": "INTEGER", "year": "INTEGER", "old_value": "DOUBLE",
    "new_value": "DOUBLE", "old_source_file": "VARCHAR", "new_source_file": "VARCHAR", "old_vintage": "VARCHAR",
    "new_vintage": "VARCHAR", "revised_at": "TIMESTAMP", "old_batch_id": "VARCHAR", "new_batch_id": "VARCHAR",
    "old_unit": "VARCHAR", "old_reported_value": "DOUBLE", "old_reported_unit": "VARCHAR",
    "old_source_line": "INTEGER", "old_loaded_at": "TIMESTAMP", "old_rounding": "DOUBLE",
}
LOAD_LOG_COLUMNS = {
    "batch_id": "VARCHAR NOT NULL", "file_name": "VARCHAR NOT NULL", "sha256": "VARCHAR NOT NULL",
    "format": "VARCHAR", "indicator_codes": "VARCHAR", "rows": "INTEGER", "cells_missing": "INTEGER",
    "vintage": "VARCHAR", "loaded_at": "TIMESTAMP", "level": "VARCHAR", "variant": "VARCHAR",
    "indicator_source": "VARCHAR", "manifest": "VARCHAR", "unmapped_columns": "INTEGER", "unmapped": "VARCHAR",
    "empty_years": "VARCHAR", "cells": "INTEGER", "inserted": "INTEGER", "revised": "INTEGER",
    "unloaded_at": "TIMESTAMP", "note": "VARCHAR", "synthetic": "BOOLEAN",
}
UNITS_COLUMNS = {
    "unit_code": "INTEGER PRIMARY KEY", "unit_name": "VARCHAR", "aliases": "VARCHAR", "level": "VARCHAR",
    "province_code": "INTEGER", "lat": "DOUBLE", "lon": "DOUBLE", "source_file": "VARCHAR", "vintage": "VARCHAR",
    "loaded_at": "TIMESTAMP",
}
TABLES = {"observations": OBSERVATIONS_COLUMNS, "revisions": REVISIONS_COLUMNS, "load_log": LOAD_LOG_COLUMNS,
          "units": UNITS_COLUMNS}


def _ddl(table: str, columns: dict[str, str]) -> str:
    # raw.observations has no PRIMARY KEY index: the loader writes one row per key by
    # construction (warehouse.landing), dbt tests the key's uniqueness, and an index of every
    # cell would hold a large load in memory (an ART index is not spilled to disk).
    cols = ", ".join(f"{name} {kind}" for name, kind in columns.items())
    return f"CREATE TABLE IF NOT EXISTS raw.{table} ({cols})"


def _drop_primary_key(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """DuckDB cannot drop a constraint: copy the table without it (a one-time migration)."""
    has_pk = con.execute("SELECT count(*) FROM duckdb_constraints() WHERE schema_name = 'raw' AND table_name = ? "
                         "AND constraint_type = 'PRIMARY KEY'", [table]).fetchone()[0]
    if has_pk:
        con.execute(f"CREATE TABLE raw.{table}__migrating AS SELECT * FROM raw.{table}")
        con.execute(f"DROP TABLE raw.{table}")
        con.execute(f"ALTER TABLE raw.{table}__migrating RENAME TO {table}")


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = ? ORDER BY column_index",
        [table]).fetchall()]


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw tables, or migrate older ones: ``province_code`` is renamed
    ``unit_code`` (raw.observations, raw.revisions) and missing columns are added (NULL).
    Call inside the load's transaction."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for table, columns in TABLES.items():
        existing = table_columns(con, table)
        if not existing:
            con.execute(_ddl(table, columns))
            continue
        if "province_code" in existing and "unit_code" not in existing and table in ("observations", "revisions"):
            con.execute(f"ALTER TABLE raw.{table} RENAME COLUMN province_code TO unit_code")
            existing = table_columns(con, table)
        if table == "observations":
            _drop_primary_key(con, table)
        for name, kind in columns.items():
            if name not in existing:
                con.execute(f"ALTER TABLE raw.{table} ADD COLUMN {name} {kind.replace(' NOT NULL', '').replace(' PRIMARY KEY', '')}")


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(table_columns(con, table))


def column(con: duckdb.DuckDBPyConnection, table: str, preferred: str, legacy: str) -> str:
    """``preferred`` if the table has it, else ``legacy`` (a warehouse not migrated yet)."""
    return preferred if preferred in table_columns(con, table) else legacy
