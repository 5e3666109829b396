{#-
  The index constructions of the specification curve (seed multiverse_choices): one entry per
  option whose `index_vars` (a JSON object) sets entropy settings, as
  {'option': key, 'settings': {...}} in seed order. The settings are those of the macro
  entropy_index, named like its vars (entropy_mode, entropy_base_years, entropy_shift); a key
  that is absent keeps the build's var. Seed text reaches SQL only as checked values: the
  option key must be a plain identifier, the mode one of pooled/per_year, the base window two
  integer years, the shift a number; anything else stops the build with the seed line.
  Empty outside execution (dbt parses models before the seed is loaded).
-#}
{% macro multiverse_index_variants() %}
{%- if not execute -%}{{ return([]) }}{%- endif -%}
{%- set rows = run_query("select rowid + 2 as line, option, index_vars from " ~ ref('multiverse_choices')
                         ~ " where coalesce(trim(index_vars), '') <> '' order by rowid") -%}
{%- set variants = [] -%}
{%- for row in rows -%}
    {%- set where = "seed multiverse_choices.csv line " ~ row['line'] ~ " (option " ~ row['option'] ~ ")" -%}
    {%- if not modules.re.match('^[A-Za-z0-9_]+$', row['option']) -%}
        {{ exceptions.raise_compiler_error(where ~ ": an index construction's option must be letters, digits and _") }}
    {%- endif -%}
    {%- set settings = fromjson(row['index_vars']) -%}
    {%- if settings is not mapping -%}
        {{ exceptions.raise_compiler_error(where ~ ": index_vars must be a JSON object, got " ~ row['index_vars']) }}
    {%- endif -%}
    {%- for key, value in settings.items() -%}
        {%- if key not in ('entropy_mode', 'entropy_base_years', 'entropy_shift') -%}
            {{ exceptions.raise_compiler_error(where ~ ": index_vars key " ~ key ~ " is not entropy_mode, entropy_base_years or entropy_shift") }}
        {%- elif key == 'entropy_mode' and value not in ('pooled', 'per_year') -%}
            {{ exceptions.raise_compiler_error(where ~ ": entropy_mode must be pooled or per_year, got " ~ value) }}
        {%- elif key == 'entropy_base_years' and value is not none and not (value is sequence and value is not string
                 and value | length == 2 and value[0] is integer and value[1] is integer) -%}
            {{ exceptions.raise_compiler_error(where ~ ": entropy_base_years must be [first_year, last_year] or null, got " ~ value) }}
        {%- elif key == 'entropy_shift' and not (value is number) -%}
            {{ exceptions.raise_compiler_error(where ~ ": entropy_shift must be a number, got " ~ value) }}
        {%- endif -%}
    {%- endfor -%}
    {%- do variants.append({'option': row['option'], 'settings': settings}) -%}
{%- endfor -%}
{{ return(variants) }}
{% endmacro %}
