-- raw.observations, typed and renamed: the unit of an observation is `unit_code` (a
-- province's GB/T 2260 code in a province study). No computation here.
select
    cast(indicator_code as varchar) as indicator_code,
    cast(province_code as integer)  as unit_code,
    cast(year as integer)           as year,
    cast(value as double)           as value,
    cast(unit as varchar)           as unit,
    cast(source_file as varchar)    as source_file,
    cast(vintage as varchar)        as vintage
from {{ source('raw', 'observations') }}
