-- Every matrix of the seed weight_matrices for the study level is present; every study unit has at least one
-- neighbour in it; no diagonal entry; every stored weight is strictly positive (the mart
-- stores non-zero weights only). Rows summing to 1: test sums_to_one in _marts.yml.
with units as (select unit_code from {{ ref('int_units') }} where in_study_sample),
matrices as (select matrix from {{ ref('weight_matrices') }} where level = '{{ var("unit_level") }}')
select m.matrix, null as unit_code, 'matrix ' || m.matrix || ' is missing' as message
from matrices as m
where m.matrix not in (select matrix from {{ ref('spatial_weights') }})
union all
select m.matrix, u.unit_code, 'matrix ' || m.matrix || ': unit ' || u.unit_code || ' has no neighbours'
from matrices as m cross join units as u
where not exists (select 1 from {{ ref('spatial_weights') }} as w
                  where w.matrix = m.matrix and w.unit_code_i = u.unit_code)
union all
select matrix, unit_code_i, 'matrix ' || matrix || ': entry (' || unit_code_i || ', ' || unit_code_j || ') = ' || weight
from {{ ref('spatial_weights') }}
where unit_code_i = unit_code_j or not weight > 0
