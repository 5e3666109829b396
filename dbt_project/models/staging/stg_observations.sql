-- Typed raw observations joined to the dictionary (canonical unit). No computation here.
select
    cast(o.indicator_code as varchar) as indicator_code,
    cast(o.province_code as integer)  as province_code,
    cast(o.year as integer)           as year,
    cast(o.value as double)           as value,
    cast(o.unit as varchar)           as unit,
    i.unit                            as dictionary_unit,
    cast(o.source_file as varchar)    as source_file,
    cast(o.vintage as varchar)        as vintage
from {{ source('raw', 'observations') }} as o
left join {{ ref('indicators') }} as i on i.code = o.indicator_code
