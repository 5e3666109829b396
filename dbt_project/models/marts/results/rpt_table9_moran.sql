-- depends_on: {{ ref('dim_report_columns') }}
-- Table 9, global Moran's I by year, for every run: one row per table line, one column per paper column
-- (named by the column keys the seed specs lay out in table9).
-- Latest successful run: `where is_latest`; any run: `where run_id = '...'`; `order by row_order`.
{{ paper_table('table9') }}
