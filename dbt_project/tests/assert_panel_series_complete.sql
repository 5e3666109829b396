-- Fails (one row per problem, with a message naming series and unit) when a required
-- series (an annual dictionary series with a role) of a study unit is missing for every
-- year, has more than var('max_missing_per_series') missing cells, or keeps a cell that
-- neither interpolation nor the one-year end carry can fill.
{%- set threshold = var('max_missing_per_series') | int %}
with per_series as (
    select
        s.indicator_code,
        s.unit_code,
        u.unit_name,
        count(*) as n_years,
        count(*) filter (where s.observed_value is null) as n_missing,
        count(*) filter (where s.value is null) as n_unresolved,
        string_agg(case when s.value is null then cast(s.year as varchar) end, ',' order by s.year) as unresolved_years
    from {{ ref('int_panel_series') }} as s
    join {{ ref('int_units') }} as u using (unit_code)
    join {{ ref('indicators') }} as i on i.code = s.indicator_code
    where u.in_study_sample and coalesce(i.role, '') <> ''
    group by all
)
select indicator_code, unit_code,
    case
        when n_missing = n_years then 'series ' || indicator_code || ' is missing for the whole unit ' || unit_name
        when n_missing > {{ threshold }} then 'series ' || indicator_code || ' has ' || n_missing
            || ' missing years for ' || unit_name || ' (threshold {{ threshold }})'
        else 'series ' || indicator_code || ' for ' || unit_name || ' has end gaps longer than one year: ' || unresolved_years
    end as message
from per_series
where n_missing = n_years or n_missing > {{ threshold }} or n_unresolved > 0
