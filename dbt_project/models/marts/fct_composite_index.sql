-- Entropy composite indices per study unit-year: one row per index and dimension with the
-- dimension score (sum of w_j x'_ij over the dimension's indicators) and the index total
-- (int_composite_indices: er or dt).
with dims as (
    select index, dimension, unit_code, year, sum(contribution) as dimension_score
    from {{ ref('int_entropy_scores') }}
    group by all
)
select
    d.unit_code, u.unit_name, u.unit_level, u.province_code, u.province, d.year, d.index, d.dimension,
    d.dimension_score, t.total as index_total
from dims as d
join {{ ref('int_units') }} as u using (unit_code)
join {{ ref('int_composite_indices') }} as t using (index, unit_code, year)
