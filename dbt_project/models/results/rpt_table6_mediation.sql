{{ config(materialized='view') }}
-- Table 6, mediation (with the bootstrap CI of a*b), for every run: one row per table line, one column per paper column
-- (the column names are the keys of dim_report_columns, table_id 'table6').
-- Latest successful run: `where is_latest`; any run: `where run_id = '...'`; `order by row_order`.
{{ paper_table('table6', ['mediation_isu_a', 'mediation_isu_b', 'mediation_rm_a', 'mediation_rm_b', 'mediation_cu_a', 'mediation_cu_b']) }}
