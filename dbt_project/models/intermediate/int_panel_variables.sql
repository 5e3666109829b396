-- Mediators (except RM), controls, moderator and instrument per study unit-year.
--   isu     = sum_j j * Y_j / Y, Y = va_primary + va_secondary + va_tertiary (eq. 11; the sum of
--             value added is used as Y so that isu stays within [1, 3] by construction)
--   cu      = (household facilities + transport/communication + education/culture/recreation
--             + health care) / total per-capita consumption spending
--   culture = public library holdings per resident (10,000 volumes / 10,000 persons)
--   open    = FDI (million USD) at the year's CNY/USD rate / GDP
--   medical = health institutions per 100,000 residents
--   tax     = tax revenue / GDP
--   ec      = electricity consumption / GDP (kWh per yuan: 100 million kWh / 100 million yuan)
--   inf     = (railway + highway length) in km per 10,000 residents
--   iv      = broadband access ports (10,000) of year t-1 x fixed telephones in 1984 (10,000);
--             NULL in the first panel year (no lag inside the panel)
with w as (
    select w.*, x.cny_per_100_usd
    from {{ ref('int_series_wide') }} as w
    join {{ ref('int_exchange_rate') }} as x using (year)
),
phones as (
    select unit_code, value as fixed_telephones_1984
    from {{ ref('int_observations') }}
    where indicator_code = 'fixed_telephones_1984' and year = 1984
)
select
    w.unit_code,
    w.year,
    (1 * va_primary + 2 * va_secondary + 3 * va_tertiary) / (va_primary + va_secondary + va_tertiary) as isu,
    (cons_household + cons_transport_comm + cons_education_culture + cons_health) / consumption_pc as cu,
    library_holdings / population as culture,
    -- million USD x (CNY per 100 USD) / 100 = million CNY; / 100 = 100 million yuan
    fdi * cny_per_100_usd / 100 / 100 / gdp as open,
    health_institutions / (population * 10000) * 100000 as medical,
    tax_revenue / gdp as tax,
    electricity_consumption / gdp as ec,
    (railway_length + highway_length) * 10000 / population as inf,
    lag(broadband_ports) over (partition by w.unit_code order by w.year) * p.fixed_telephones_1984 as iv,
    marketization_index
from w
left join phones as p using (unit_code)
