-- The observations of the study units: each unit's own, and, for a series the dictionary maps
-- down (indicators.lower_levels = 'parent', e.g. the marketization index and the 1984
-- telephones, published for provinces only), its province's value where the unit has none of
-- its own. A series with lower_levels 'own' has no value below the province level unless the
-- landing files give one; a spec that needs it is then skipped with the reason recorded.
with study as (
    select unit_code, province_code, unit_level from {{ ref('int_units') }} where in_study_sample
),

own as (
    select o.indicator_code, o.unit_code, o.year, o.value, 'own' as origin
    from {{ ref('stg_observations') }} as o
    join study as s using (unit_code)
),

from_parent as (
    select o.indicator_code, s.unit_code, o.year, o.value, 'parent' as origin
    from {{ ref('stg_observations') }} as o
    join {{ ref('indicators') }} as i on i.code = o.indicator_code and i.lower_levels = 'parent'
    join study as s on s.province_code = o.unit_code and s.unit_level <> 'province'
)

select * from own
union all
select p.* from from_parent as p
anti join own as o using (indicator_code, unit_code, year)
