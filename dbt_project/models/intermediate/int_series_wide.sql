-- One row per study province-year, one column per required series (imputed values from
-- stg_panel_series), in the dictionary's canonical units. Tibet (in_study_sample = false)
-- is dropped here.
select
    s.province_code,
    s.year,
    {%- for code in var('required_series') %}
    max(s.value) filter (where s.indicator_code = '{{ code }}') as {{ code }},
    {%- endfor %}
    bool_or(s.is_imputed) as any_imputed
from {{ ref('stg_panel_series') }} as s
join {{ ref('provinces') }} as p using (province_code)
where p.in_study_sample
group by s.province_code, s.year
