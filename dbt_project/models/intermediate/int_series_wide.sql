-- depends_on: {{ ref('indicators') }}
-- One row per study unit-year, one column per required series (macro required_series: the
-- annual dictionary series with a role), imputed values of int_panel_series, canonical units.
select
    s.unit_code,
    s.year,
    {%- for code in required_series() %}
    max(s.value) filter (where s.indicator_code = '{{ code }}') as {{ code }},
    {%- endfor %}
    bool_or(s.is_imputed) as any_imputed
from {{ ref('int_panel_series') }} as s
group by s.unit_code, s.year
