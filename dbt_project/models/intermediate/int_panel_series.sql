-- Complete grid annual series x study unit x panel year, with missing cells imputed:
--   * linear interpolation between the nearest observed years of the same unit's series;
--   * at the ends, at most ONE year is carried (forward from the last or backward from the
--     first observed year); longer end gaps stay NULL;
--   * every imputed cell is flagged (is_imputed, imputation).
-- Cells left NULL, whole-unit gaps and series with more than var('max_missing_per_series')
-- missing cells fail the test assert_panel_series_complete, which names series and unit.
with grid as (
    select i.code as indicator_code, u.unit_code, y.year
    from {{ ref('indicators') }} as i
    cross join {{ ref('int_units') }} as u
    cross join {{ ref('int_panel_years') }} as y
    where i.frequency = 'annual' and u.in_study_sample
),
joined as (
    select g.*, o.value as observed_value
    from grid as g
    left join {{ ref('int_observations') }} as o using (indicator_code, unit_code, year)
),
neighbours as (
    select
        *,
        last_value(case when observed_value is not null then year end ignore nulls) over before_ as prev_year,
        last_value(observed_value ignore nulls) over before_ as prev_value,
        first_value(case when observed_value is not null then year end ignore nulls) over after_ as next_year,
        first_value(observed_value ignore nulls) over after_ as next_value
    from joined
    window
        before_ as (partition by indicator_code, unit_code order by year
                    rows between unbounded preceding and 1 preceding),
        after_ as (partition by indicator_code, unit_code order by year
                   rows between 1 following and unbounded following)
)
select
    indicator_code,
    unit_code,
    year,
    case
        when observed_value is not null then observed_value
        when prev_year is not null and next_year is not null
            then prev_value + (next_value - prev_value) * (year - prev_year) / (next_year - prev_year)
        when prev_year is not null and next_year is null and year - prev_year = 1 then prev_value
        when next_year is not null and prev_year is null and next_year - year = 1 then next_value
    end as value,
    observed_value,
    observed_value is null as is_imputed,
    case
        when observed_value is not null then 'observed'
        when prev_year is not null and next_year is not null then 'interpolated'
        when prev_year is not null and next_year is null and year - prev_year = 1 then 'carried_forward'
        when next_year is not null and prev_year is null and next_year - year = 1 then 'carried_backward'
        else 'unresolved'
    end as imputation
from neighbours
