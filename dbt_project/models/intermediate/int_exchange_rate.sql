-- The year's average CNY/USD rate (CNY per 100 USD), a national series: the extracts may
-- repeat it for every unit, so we take the mean over the units that report it.
select year, avg(value) as cny_per_100_usd
from {{ ref('int_panel_series') }}
where indicator_code = 'exchange_rate' and value is not null
group by year
