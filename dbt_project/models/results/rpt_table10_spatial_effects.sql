{{ config(materialized='view') }}
-- Table 10, SDM direct / indirect / total effects, for every run: one row per table line, one column per paper column
-- (the column names are the keys of dim_report_columns, table_id 'table10').
-- Latest successful run: `where is_latest`; any run: `where run_id = '...'`; `order by row_order`.
{{ paper_table('table10', ['geographic_direct', 'geographic_indirect', 'geographic_total', 'economic_direct', 'economic_indirect', 'economic_total']) }}
