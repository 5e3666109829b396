-- Every index construction of marts.fct_index_variants has ER and DT for every unit-year of
-- marts.analysis_panel, and a frozen base window of panel years (otherwise its bounds would
-- come from too few or no rows).
with variants as (
    select distinct variant, base_first_year, base_last_year from {{ ref('fct_index_variants') }}
),

missing as (
    select v.variant, count(*) as n
    from variants as v
    cross join {{ ref('analysis_panel') }} as p
    left join {{ ref('fct_index_variants') }} as f
        on f.variant = v.variant and f.unit_code = p.unit_code and f.year = p.year
    where f.er is null or f.dt is null
    group by v.variant
)

select variant, 'index variant ' || variant || ': ER or DT missing for ' || n || ' panel unit-years' as message
from missing
union all
select variant, 'index variant ' || variant || ': base window year ' || y || ' is not a panel year' as message
from variants, unnest([base_first_year, base_last_year]) as t(y)
where y is not null and y not in (select year from {{ ref('int_panel_years') }})
