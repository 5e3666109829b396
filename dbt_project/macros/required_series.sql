{#- The series the models use: every annual series of the dictionary seed `indicators` with a
    role (er, dt, mediator, control, moderator, instrument, group). Read from the seed at run
    time, so a model that calls this needs `-- depends_on: {{ ref('indicators') }}`. -#}
{% macro required_series() %}
{%- if not execute -%}{{ return([]) }}{%- endif -%}
{%- set rows = run_query("select code from " ~ ref('indicators') ~ " where frequency = 'annual' and coalesce(role, '') <> '' order by code") -%}
{{ return(rows.columns[0].values() | list) }}
{% endmacro %}
