-- The loader stores every value in the dictionary's canonical unit (docs/CONTRACTS.md);
-- a row in another unit, or of a series the dictionary lacks, would be mis-scaled here.
select indicator_code, province_code, year,
    'raw.observations ' || indicator_code || '/' || province_code || '/' || year || ' is in unit '
    || coalesce(unit, 'NULL') || ', dictionary unit ' || coalesce(dictionary_unit, '(series not in dictionary)') as message
from {{ ref('stg_observations') }}
where dictionary_unit is null or unit is distinct from dictionary_unit
