{{ config(materialized='view') }}
-- Table 7, moderation by transport infrastructure, for every run: one row per table line, one column per paper column
-- (the column names are the keys of dim_report_columns, table_id 'table7').
-- Latest successful run: `where is_latest`; any run: `where run_id = '...'`; `order by row_order`.
{{ paper_table('table7', ['moderation_inf', 'moderation_inf_centred']) }}
