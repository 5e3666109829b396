"""Load raw statistical-yearbook and CNRDS-style extracts into the DuckDB warehouse."""
