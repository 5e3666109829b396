-- raw.observations, typed: the unit of an observation is `unit_code` (GB/T 2260: a
-- province's two digits, a prefecture's or county's six). No computation here.
select
    cast(indicator_code as varchar) as indicator_code,
    cast(unit_code as integer)      as unit_code,
    cast(year as integer)           as year,
    cast(value as double)           as value,
    cast(unit as varchar)           as unit,
    cast(source_file as varchar)    as source_file,
    cast(vintage as varchar)        as vintage
from {{ source('raw', 'observations') }}
