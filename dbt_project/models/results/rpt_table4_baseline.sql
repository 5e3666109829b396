{{ config(materialized='view') }}
-- Table 4, baseline regressions, for every run: one row per table line, one column per paper column
-- (the column names are the keys of dim_report_columns, table_id 'table4').
-- Latest successful run: `where is_latest`; any run: `where run_id = '...'`; `order by row_order`.
{{ paper_table('table4', ['baseline_pooled', 'baseline_twfe', 'baseline_pooled_controls', 'baseline_twfe_controls']) }}
