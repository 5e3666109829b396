-- The median split gives floor(N/2) high units and the rest low (15/15 for N = 30 provinces).
select market_group, count(*) as n_units,
    'market_group ' || market_group || ' has ' || count(*) || ' units' as message
from {{ ref('int_market_groups') }}
group by market_group
having count(*) <> case market_group
    when 'high' then (select count(*) // 2 from {{ ref('int_market_groups') }})
    else (select count(*) - count(*) // 2 from {{ ref('int_market_groups') }}) end
