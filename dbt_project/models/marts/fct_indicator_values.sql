-- Every sub-indicator of Tables 1-2 per study unit-year: the value in its unit, the
-- standardised value x' (entropy method) and its weighted contribution to the index.
select
    e.unit_code, u.unit_name, u.unit_level, u.province_code, u.province, e.year, e.index, e.dimension,
    e.indicator, m.indicator_label, m.unit, e.direction, e.value, e.x_std, e.w_j, e.contribution
from {{ ref('int_entropy_scores') }} as e
join {{ ref('int_units') }} as u using (unit_code)
join {{ ref('index_indicators') }} as m on m.indicator = e.indicator
