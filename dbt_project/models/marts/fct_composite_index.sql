-- Entropy composite indices per study province-year: one row per index and dimension with
-- the dimension score (sum of w_j x'_ij over the dimension's indicators) and the index total
-- (sum over all dimensions, i.e. er or dt).
with dims as (
    select index, dimension, province_code, year, sum(contribution) as dimension_score
    from {{ ref('int_entropy_scores') }}
    group by all
)
select
    d.province_code, p.name_en as province, d.year, d.index, d.dimension, d.dimension_score,
    sum(d.dimension_score) over (partition by d.index, d.province_code, d.year) as index_total
from dims as d
join {{ ref('provinces') }} as p using (province_code)
