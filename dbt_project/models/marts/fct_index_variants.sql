-- depends_on: {{ ref('multiverse_choices') }}
-- depends_on: {{ ref('int_sub_indicators_long') }}
-- The other constructions of the composite indices that the specification curve varies (seed
-- multiverse_choices, options with index_vars): ER and DT per unit-year from the same macro
-- entropy_index as the published indices, with the option's entropy settings (per-year weights,
-- a frozen base window, ...). Built with every build, once per construction; the flow
-- `multiverse` fits a cell of such an option on marts.analysis_panel with er and dt from here.
{%- set variants = multiverse_index_variants() %}
{%- if variants | length == 0 %}
select cast(null as varchar) as variant, cast(null as integer) as unit_code, cast(null as integer) as year,
       cast(null as double) as er, cast(null as double) as dt, cast(null as varchar) as entropy_mode,
       cast(null as integer) as base_first_year, cast(null as integer) as base_last_year
where false
{%- else %}
with scores as (
{%- for v in variants %}
    {%- set base = parse_entropy_base_window(v.settings['entropy_base_years'] if 'entropy_base_years' in v.settings
                                             else var('entropy_base_years', none)) %}
    {%- for index_name in ('er', 'dt') %}
    select '{{ v.option }}' as variant, index, unit_code, year, contribution,
           '{{ v.settings.get('entropy_mode', var('entropy_mode', 'pooled')) }}' as entropy_mode,
           {{ base[0] if base else 'null' }} as base_first_year, {{ base[1] if base else 'null' }} as base_last_year
    from {{ entropy_index(ref('int_sub_indicators_long'), index_name, v.settings) }}
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}
)

select
    cast(variant as varchar) as variant,
    cast(unit_code as integer) as unit_code,
    cast(year as integer) as year,
    cast(sum(contribution) filter (where index = 'er') as double) as er,
    cast(sum(contribution) filter (where index = 'dt') as double) as dt,
    cast(any_value(entropy_mode) as varchar) as entropy_mode,
    cast(any_value(base_first_year) as integer) as base_first_year,
    cast(any_value(base_last_year) as integer) as base_last_year
from scores
group by variant, unit_code, year
{%- endif %}
