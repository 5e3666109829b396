-- Each matrix must be dense N x N over the study provinces with a zero diagonal and
-- strictly positive off-diagonal weights.
with n as (select count(*) as n from {{ ref('provinces') }} where in_study_sample)
select matrix, 'matrix ' || matrix || ' has ' || count(*) || ' cells, expected ' || any_value(n.n) * any_value(n.n) as message
from {{ ref('spatial_weights') }}, n
group by matrix
having count(*) <> any_value(n.n) * any_value(n.n)
union all
select matrix, 'matrix ' || matrix || ': cell (' || province_code_i || ', ' || province_code_j || ') = ' || weight
from {{ ref('spatial_weights') }}
where (province_code_i = province_code_j and weight <> 0)
   or (province_code_i <> province_code_j and not weight > 0)
union all
select m, 'matrix ' || m || ' is missing'
from (values ('geographic'), ('economic')) as t(m)
where m not in (select matrix from {{ ref('spatial_weights') }})
