{{ config(materialized='view') }}
-- Table 4, baseline regressions, for every run: one row per table line, one column per paper column
-- (the column names are the keys of dim_report_columns, table_id 'table4').
-- Latest successful run: `where is_latest`; any run: `where run_id = '...'`; `order by row_order`.
{% set columns = ['baseline_pooled', 'baseline_twfe', 'baseline_pooled_controls', 'baseline_twfe_controls'] %}

with table_rows as (
    select * from {{ ref('fct_report_rows') }} where table_id = 'table4'
),

runs as (
    select run_id, is_latest from {{ ref('dim_result_runs') }}
),

wide as (
    select
        run_id, sort_key, row_key, line_seq, line, row_label,
        {%- for column in columns %}
        max(cell) filter (where column_key = '{{ column }}') as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from table_rows
    group by run_id, sort_key, row_key, line_seq, line, row_label
)

select
    wide.run_id,
    coalesce(runs.is_latest, false) as is_latest,
    row_number() over (
        partition by wide.run_id order by wide.sort_key, wide.row_key, wide.line_seq
    ) as row_order,
    wide.row_key,
    wide.line,
    wide.row_label,
    {%- for column in columns %}
    wide.{{ column }}{{ "," if not loop.last }}
    {%- endfor %}
from wide
left join runs using (run_id)
