-- The loader stores every value in the dictionary's canonical unit (docs/CONTRACTS.md);
-- a row in another unit, or of a series the dictionary lacks, would be mis-scaled here.
select o.indicator_code, o.unit_code, o.year,
    'raw.observations ' || o.indicator_code || '/' || o.unit_code || '/' || o.year || ' is in unit '
    || coalesce(o.unit, 'NULL') || ', dictionary unit ' || coalesce(i.unit, '(series not in dictionary)') as message
from {{ ref('stg_observations') }} as o
left join {{ ref('indicators') }} as i on i.code = o.indicator_code
where i.unit is null or o.unit is distinct from i.unit
