{{ config(materialized='view') }}
-- Table 5, endogeneity and robustness, for every run: one row per table line, one column per paper column
-- (the column names are the keys of dim_report_columns, table_id 'table5').
-- Latest successful run: `where is_latest`; any run: `where run_id = '...'`; `order by row_order`.
{{ paper_table('table5', ['iv_2sls', 'lag_dt', 'pca_measures', 'excl_municipalities', 'tobit_re']) }}
