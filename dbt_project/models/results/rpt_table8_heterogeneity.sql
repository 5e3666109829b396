{{ config(materialized='view') }}
-- Table 8, regional and marketization heterogeneity, for every run: one row per table line, one column per paper column
-- (the column names are the keys of dim_report_columns, table_id 'table8').
-- Latest successful run: `where is_latest`; any run: `where run_id = '...'`; `order by row_order`.
{{ paper_table('table8', ['region_east', 'region_central', 'region_west', 'market_high', 'market_low']) }}
