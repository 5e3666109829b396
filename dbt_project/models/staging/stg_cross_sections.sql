-- One-year cross-sections (var cross_section_series), e.g. fixed telephones in 1984 used by
-- the instrument. Typed only.
select indicator_code, province_code, year, value
from {{ ref('stg_observations') }}
where indicator_code in ({{ sql_list(var('cross_section_series')) }})
