{#
  A paper table (Tables 4-10) for every run, pivoted from fct_report_rows: one row per printed
  line, one column per paper column. The columns are the column keys that dim_report_columns
  (hence the seed specs) lays out in `table_id`, in the paper's order, read at run time: a
  model calling this needs `-- depends_on: {{ ref('dim_report_columns') }}`. Latest
  successful run: `where is_latest`; any run: `where run_id = '...'`; `order by row_order`.
#}
{% macro paper_table(table_id) %}
{%- set columns = [] -%}
{%- if execute -%}
    {%- set found = run_query("select column_key from " ~ ref('dim_report_columns') ~ " where table_id = '"
                              ~ table_id ~ "' group by column_key order by min(column_order), column_key") -%}
    {%- set columns = found.columns[0].values() | list -%}
{%- endif %}
with table_rows as (
    select * from {{ ref('fct_report_rows') }} where table_id = '{{ table_id }}'
),

runs as (
    select run_id, is_latest from {{ ref('dim_result_runs') }}
),

wide as (
    select
        run_id, sort_key, row_key, line_seq, line, row_label
        {%- for column in columns %},
        max(cell) filter (where column_key = '{{ column }}') as "{{ column }}"
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
    wide.row_label
    {%- for column in columns %},
    wide."{{ column }}"
    {%- endfor %}
from wide
left join runs using (run_id)
{% endmacro %}
