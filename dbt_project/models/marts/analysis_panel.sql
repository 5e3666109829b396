{{ config(contract={'enforced': true}) }}
-- The estimation input (docs/DESIGN.md contract): one row per study unit-year.
select
    cast(v.unit_code as integer) as unit_code,
    cast(u.unit_name as varchar) as unit_name,
    cast(u.unit_level as varchar) as unit_level,
    cast(u.province_code as integer) as province_code,
    cast(u.province as varchar) as province,
    cast(v.year as integer) as year,
    cast(u.region as varchar) as region,
    cast(u.is_municipality as boolean) as is_municipality,
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
from {{ ref('int_panel_variables') }} as v
join {{ ref('int_units') }} as u using (unit_code)
join {{ ref('int_market_groups') }} as g using (unit_code)
left join {{ ref('int_composite_indices') }} as er on er.unit_code = v.unit_code and er.year = v.year and er.index = 'er'
left join {{ ref('int_composite_indices') }} as dt on dt.unit_code = v.unit_code and dt.year = v.year and dt.index = 'dt'
left join {{ ref('int_pca_indices') }} as er_pca on er_pca.unit_code = v.unit_code and er_pca.year = v.year and er_pca.index = 'er'
left join {{ ref('int_pca_indices') }} as dt_pca on dt_pca.unit_code = v.unit_code and dt_pca.year = v.year and dt_pca.index = 'dt'
left join {{ ref('int_resource_misallocation') }} as rm on rm.unit_code = v.unit_code and rm.year = v.year
