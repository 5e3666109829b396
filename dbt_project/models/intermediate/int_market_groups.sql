-- market_group: each study province's mean marketization index over the panel years,
-- split at the median of the N province means. high = the floor(N/2) provinces ranked
-- above the median (mean descending), low = the rest; a tie across the median is broken by
-- province_code ascending, so with N = 30 the split is always 15/15 provinces (135/135
-- province-years for 2013-2021).
with means as (
    select province_code, avg(marketization_index) as marketization_mean
    from {{ ref('int_province_year_variables') }}
    group by province_code
),
ranked as (
    select *,
        row_number() over (order by marketization_mean desc, province_code) as marketization_rank,
        count(*) over () as n_provinces,
        median(marketization_mean) over () as marketization_median
    from means
)
select
    province_code, marketization_mean, marketization_median, marketization_rank,
    case when marketization_rank <= n_provinces // 2 then 'high' else 'low' end as market_group
from ranked
