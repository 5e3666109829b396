-- Fails (one row per problem, with a message naming series and province) when a required
-- series (var required_series) of a study province is missing for every year, has more
-- than var('max_missing_per_series') missing cells, or keeps a cell that neither
-- interpolation nor the one-year end carry can fill.
{{ config(severity='error') }}
with per_series as (
    select
        s.indicator_code,
        s.province_code,
        p.name_en as province,
        count(*) as n_years,
        count(*) filter (where s.observed_value is null) as n_missing,
        count(*) filter (where s.value is null) as n_unresolved,
        string_agg(case when s.value is null then cast(s.year as varchar) end, ',' order by s.year) as unresolved_years
    from {{ ref('stg_panel_series') }} as s
    join {{ ref('provinces') }} as p using (province_code)
    where p.in_study_sample
      and s.indicator_code in ({{ sql_list(var('required_series')) }})
    group by all
),
required_in_dictionary as (
    select r.code as indicator_code
    from (select unnest([{{ sql_list(var('required_series')) }}]) as code) as r
    anti join {{ ref('indicators') }} as i on i.code = r.code
)
select indicator_code, province_code,
    case
        when n_missing = n_years then 'series ' || indicator_code || ' is missing for the whole province ' || province
        when n_missing > {{ var('max_missing_per_series') }} then 'series ' || indicator_code || ' has ' || n_missing
            || ' missing years for ' || province || ' (threshold {{ var("max_missing_per_series") }})'
        else 'series ' || indicator_code || ' for ' || province || ' has end gaps longer than one year: ' || unresolved_years
    end as message
from per_series
where n_missing = n_years or n_missing > {{ var('max_missing_per_series') }} or n_unresolved > 0
union all
select indicator_code, null, 'required series ' || indicator_code || ' is not in the dictionary seed indicators.csv'
from required_in_dictionary
