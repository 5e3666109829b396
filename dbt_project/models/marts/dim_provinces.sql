-- The 31 provinces of the reference seed, with the study-sample flag and (for the study
-- sample) the marketization group.
select
    p.province_code, p.name_zh, p.name_en as province, p.region, p.is_municipality,
    p.in_study_sample, p.capital_en, p.capital_lat, p.capital_lon,
    g.marketization_mean, g.market_group
from {{ ref('provinces') }} as p
left join {{ ref('int_market_groups') }} as g on g.unit_code = p.province_code
