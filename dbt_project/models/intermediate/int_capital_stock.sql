-- Real output, real investment and capital stock per study unit-year (inputs of RM,
-- paper eqs. 12-15; docs/METHODS.md "Resource misallocation").
--   base year b = first panel year; prices of year b.
--   real GDP:   Y_t = GDP_b * prod_{s=b+1..t} (gdp_index_s / 100)     (volume index, previous year = 100)
--   deflator:   P_t = prod_{s=b+1..t} (fai_price_index_s / 100), P_b = 1
--   investment: I_t = gfcf_t / P_t
--   PIM:        K_b = I_b / (g + delta),  K_t = (1 - delta) K_{t-1} + I_t
--               delta = var pim_depreciation (9.6%, Zhang Jun et al. 2004); g = mean annual
--               growth of I over the first var pim_growth_years years (Hall & Jones 1999),
--               floored at 0 so that K_b stays finite and positive when real investment
--               falls in the first years.
--   Closed form used below (k = t - b): K_t = (1-delta)^k * (K_b + sum_{s=1..k} I_{b+s} (1-delta)^-s).
{% set delta = var('pim_depreciation') | float %}
with base as (
    select
        w.unit_code, w.year, w.gdp, w.employment, w.gfcf,
        w.year - min(w.year) over () as k,
        first_value(w.gdp) over (partition by w.unit_code order by w.year) as gdp_base,
        exp(sum(case when w.year > min_year then ln(w.gdp_index / 100) else 0 end)
            over (partition by w.unit_code order by w.year)) as volume_factor,
        exp(sum(case when w.year > min_year then ln(w.fai_price_index / 100) else 0 end)
            over (partition by w.unit_code order by w.year)) as investment_deflator
    from (select *, min(year) over () as min_year from {{ ref('int_series_wide') }}) as w
),
real as (
    select *, gdp_base * volume_factor as real_gdp, gfcf / investment_deflator as real_investment
    from base
),
growth as (
    select unit_code,
        greatest(avg(real_investment / prev_investment - 1), 0) as investment_growth
    from (
        select unit_code, k, real_investment,
            lag(real_investment) over (partition by unit_code order by year) as prev_investment
        from real
    ) as g
    where k between 1 and {{ var('pim_growth_years') | int }} - 1
    group by unit_code
),
initial as (
    select r.unit_code, r.real_investment / (g.investment_growth + {{ delta }}) as capital_base, g.investment_growth
    from real as r join growth as g using (unit_code)
    where r.k = 0
)
select
    r.unit_code, r.year, r.gdp, r.real_gdp, r.employment, r.gfcf, r.investment_deflator,
    r.real_investment, i.investment_growth, i.capital_base,
    power(1 - {{ delta }}, r.k) * (
        i.capital_base
        + sum(case when r.k > 0 then r.real_investment * power(1 - {{ delta }}, -r.k) else 0 end)
            over (partition by r.unit_code order by r.year)
    ) as capital_stock
from real as r
join initial as i using (unit_code)
