{{ config(contract={'enforced': true}) }}
-- The estimation input (DESIGN.md contract): one row per study province-year.
select
    cast(v.province_code as integer) as province_code,
    cast(p.name_en as varchar) as province,
    cast(v.year as integer) as year,
    cast(p.region as varchar) as region,
    cast(p.is_municipality as boolean) as is_municipality,
    cast(g.market_group as varchar) as market_group,
    cast(er.total as double) as er,
    cast(dt.total as double) as dt,
    cast(er_pca.pca_score as double) as er_pca,
    cast(dt_pca.pca_score as double) as dt_pca,
    cast(v.isu as double) as isu,
    cast(rm.rm as double) as rm,
    cast(v.cu as double) as cu,
    cast(v.inf as double) as inf,
    cast(v.medical as double) as medical,
    cast(v.ec as double) as ec,
    cast(v.open as double) as open,
    cast(v.tax as double) as tax,
    cast(v.culture as double) as culture,
    cast(v.iv as double) as iv
from {{ ref('int_province_year_variables') }} as v
join {{ ref('provinces') }} as p using (province_code)
join {{ ref('int_market_groups') }} as g using (province_code)
left join (select province_code, year, sum(contribution) as total from {{ ref('int_entropy_scores') }}
           where index = 'er' group by all) as er using (province_code, year)
left join (select province_code, year, sum(contribution) as total from {{ ref('int_entropy_scores') }}
           where index = 'dt' group by all) as dt using (province_code, year)
left join (select * from {{ ref('int_pca_indices') }} where index = 'er') as er_pca using (province_code, year)
left join (select * from {{ ref('int_pca_indices') }} where index = 'dt') as dt_pca using (province_code, year)
left join {{ ref('int_resource_misallocation') }} as rm using (province_code, year)
