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
