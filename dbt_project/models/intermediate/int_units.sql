-- The units of every level the warehouse knows -- the 31 provinces of the seed, and the
-- prefectures and counties of raw.units (loaded from a landing folder's units_reference.csv)
-- -- with their parent province's NBS region and municipality flag. The study units
-- (in_study_sample) are the units of the study's level (var unit_level) whose province is in
-- the study sample (all but Tibet).
{%- set level = var('unit_level') %}
{%- if level not in ('province', 'prefecture', 'county') %}
    {{ exceptions.raise_compiler_error("var unit_level must be province, prefecture or county") }}
{%- endif %}
with provinces as (
    select
        cast(province_code as integer) as province_code, name_zh, name_en, region,
        is_municipality, in_study_sample, capital_lat, capital_lon
    from {{ ref('provinces') }}
),

units as (
    select province_code as unit_code, name_en as unit_name, 'province' as unit_level,
           province_code, capital_lat as lat, capital_lon as lon
    from provinces
    union all
    select cast(unit_code as integer), cast(unit_name as varchar), cast(level as varchar),
           cast(province_code as integer), cast(lat as double), cast(lon as double)
    from {{ source('raw', 'units') }}
)

select
    u.unit_code,
    u.unit_name,
    u.unit_level,
    u.province_code,
    p.name_en as province,
    p.region,
    p.is_municipality,
    p.in_study_sample and u.unit_level = '{{ level }}' as in_study_sample,
    u.lat,
    u.lon
from units as u
join provinces as p using (province_code)
