"""results.* writer: one transaction, run_id stamped, bad frames rejected before writing."""
import duckdb
import pandas as pd
import pytest

from warehouse.results_store import RESULT_TABLES, ensure_schema, write_results


def _coef_frame(n=2):
    return pd.DataFrame({c: [None] * n for c in RESULT_TABLES["coefficients"]}).assign(
        spec_id="s", term=["dt", "const"][:n], estimate=[0.5, 0.1][:n]
    )


def test_write_results_stamps_run_id_and_counts_rows():
    con = duckdb.connect()
    written = write_results(con, "run-1", {"coefficients": _coef_frame()})
    assert written == {"coefficients": 2}
    rows = con.execute("select run_id, term, estimate from results.coefficients order by term").fetchall()
    assert rows == [("run-1", "const", 0.1), ("run-1", "dt", 0.5)]


def test_missing_column_raises_before_any_write():
    con = duckdb.connect()
    ensure_schema(con)
    bad = pd.DataFrame({"mediator": ["isu"]})
    with pytest.raises(ValueError, match="lacks columns"):
        write_results(con, "run-1", {"coefficients": _coef_frame(), "mediation": bad})
    assert con.execute("select count(*) from results.coefficients").fetchone() == (0,)


def test_failed_insert_rolls_back_every_table():
    con = duckdb.connect()
    ensure_schema(con)
    stats = pd.DataFrame({"spec_id": ["s"], "stat": ["nobs"], "value": ["not a number"]})
    with pytest.raises(duckdb.Error):
        write_results(con, "run-1", {"coefficients": _coef_frame(), "model_stats": stats})
    assert con.execute("select count(*) from results.coefficients").fetchone() == (0,)


def test_ensure_schema_migrates_older_spatial_effects_and_moran_tables():
    """An older warehouse's spatial_effects.estimate held the draws' mean: it becomes sim_mean,
    and the point-effect column starts empty for those rows; Moran gains the new nulls' columns."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA results")
    con.execute("CREATE TABLE results.spatial_effects (run_id VARCHAR, spec_id VARCHAR, term VARCHAR, "
                "effect VARCHAR, estimate DOUBLE, std_error DOUBLE, p_value DOUBLE, draws INTEGER)")
    con.execute("INSERT INTO results.spatial_effects VALUES ('old', 'sdm', 'dt', 'direct', 0.48, 0.03, 0.0, 1000)")
    con.execute("CREATE TABLE results.moran (run_id VARCHAR, spec_id VARCHAR, matrix VARCHAR, variable VARCHAR, "
                "year INTEGER, moran_i DOUBLE, expected_i DOUBLE, variance_norm DOUBLE, z_norm DOUBLE, "
                "p_norm DOUBLE, p_perm DOUBLE, permutations INTEGER)")
    ensure_schema(con)
    ensure_schema(con)  # idempotent: a second call renames nothing more
    row = con.execute("select estimate, sim_mean, std_error, sim_q975 from results.spatial_effects").fetchone()
    assert row == (None, 0.48, 0.03, None)
    for table in ("spatial_effects", "moran"):
        columns = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'results' "
            "and table_name = ?", [table]).fetchall()}
        assert columns == {"run_id", *RESULT_TABLES[table]}
