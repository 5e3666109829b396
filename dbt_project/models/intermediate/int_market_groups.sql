-- market_group: each study unit's mean marketization index over the panel years, split at
-- the median of the N unit means. high = the floor(N/2) units ranked above the median (mean
-- descending), low = the rest; a tie across the median is broken by unit_code ascending, so
-- with N = 30 provinces the split is always 15/15 (135/135 province-years for 2013-2021).
with means as (
    select unit_code, avg(marketization_index) as marketization_mean
    from {{ ref('int_panel_variables') }}
    group by unit_code
),
ranked as (
    select *,
        row_number() over (order by marketization_mean desc, unit_code) as marketization_rank,
        count(*) over () as n_units,
        median(marketization_mean) over () as marketization_median
    from means
)
select
    unit_code, marketization_mean, marketization_median, marketization_rank,
    case when marketization_rank <= n_units // 2 then 'high' else 'low' end as market_group
from ranked
