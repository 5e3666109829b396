{{ config(contract={'enforced': true}) }}
-- Dense N x N spatial weight matrices over the study provinces, zero diagonal, each row
-- standardised to sum 1.
--   geographic: w_ij = 1 / d_ij, d_ij the great-circle (haversine, R = 6371 km) distance
--               between the provincial capitals of the seed provinces.csv;
--   economic:   w_ij = 1 / |Ybar_i - Ybar_j|, Ybar_i the province's mean real GDP per capita
--               (yuan, base-year prices: real GDP / year-end resident population) over the panel years.
with p as (
    select province_code, radians(capital_lat) as lat, radians(capital_lon) as lon
    from {{ ref('provinces') }} where in_study_sample
),
gdp_pc as (
    select c.province_code, avg(c.real_gdp * 1e8 / (w.population * 1e4)) as mean_real_gdp_pc
    from {{ ref('int_capital_stock') }} as c
    join {{ ref('int_series_wide') }} as w using (province_code, year)
    group by c.province_code
),
raw_weights as (
    select 'geographic' as matrix, a.province_code as i, b.province_code as j,
        case when a.province_code = b.province_code then 0.0 else 1.0 / (2 * 6371.0 * asin(sqrt(
            power(sin((b.lat - a.lat) / 2), 2)
            + cos(a.lat) * cos(b.lat) * power(sin((b.lon - a.lon) / 2), 2)))) end as w
    from p as a cross join p as b
    union all
    select 'economic', a.province_code, b.province_code,
        case when a.province_code = b.province_code then 0.0
             else 1.0 / abs(a.mean_real_gdp_pc - b.mean_real_gdp_pc) end
    from gdp_pc as a cross join gdp_pc as b
)
select
    cast(matrix as varchar) as matrix,
    cast(i as integer) as province_code_i,
    cast(j as integer) as province_code_j,
    cast(w / sum(w) over (partition by matrix, i) as double) as weight
from raw_weights
