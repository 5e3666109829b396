-- What the spatial weights are computed from, per study unit: seat coordinates (degrees) and
-- the mean real GDP per capita (yuan, base-year prices: real GDP / year-end resident
-- population) over the panel years.
select
    u.unit_code,
    u.unit_name,
    u.lat,
    u.lon,
    g.mean_real_gdp_pc
from {{ ref('int_units') }} as u
join (
    select c.unit_code, avg(c.real_gdp * 1e8 / (w.population * 1e4)) as mean_real_gdp_pc
    from {{ ref('int_capital_stock') }} as c
    join {{ ref('int_series_wide') }} as w using (unit_code, year)
    group by c.unit_code
) as g using (unit_code)
where u.in_study_sample
