{{ config(materialized='view') }}
-- Table 9, global Moran's I by year, for every run: one row per table line, one column per paper column
-- (the column names are the keys of dim_report_columns, table_id 'table9').
-- Latest successful run: `where is_latest`; any run: `where run_id = '...'`; `order by row_order`.
{{ paper_table('table9', ['geographic_dt', 'geographic_er', 'economic_dt', 'economic_er']) }}
