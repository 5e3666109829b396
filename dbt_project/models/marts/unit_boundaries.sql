{{ config(contract={'enforced': true}) }}
-- The boundary of every study unit (the polygons of the maps and of the contiguity matrices),
-- as WKB in longitude/latitude degrees (EPSG:4326), joined by unit code within the unit's
-- level (int_unit_boundaries). Spatial SQL can read it with ST_GeomFromWKB(geometry).
select
    cast(u.unit_code as integer) as unit_code,
    cast(u.unit_name as varchar) as unit_name,
    cast(u.unit_level as varchar) as unit_level,
    cast(u.province_code as integer) as province_code,
    cast(b.name_zh as varchar) as name_zh,
    cast(b.geometry_wkb as blob) as geometry,
    cast(b.boundary_source as varchar) as boundary_source
from {{ ref('int_units') }} as u
join {{ ref('int_unit_boundaries') }} as b using (unit_code)
where u.in_study_sample
