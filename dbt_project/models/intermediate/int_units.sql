-- The units of the study (here the 31 provinces of the seed): code, names, level, parent
-- province, NBS region, municipality flag, study-sample flag and seat coordinates.
select
    cast(province_code as integer) as unit_code,
    name_en as unit_name,
    'province' as unit_level,
    cast(province_code as integer) as province_code,
    name_en as province,
    region,
    is_municipality,
    in_study_sample,
    capital_lat as lat,
    capital_lon as lon
from {{ ref('provinces') }}
