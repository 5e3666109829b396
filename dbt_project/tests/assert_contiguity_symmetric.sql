-- A contiguity matrix links units both ways (the island rule too): (i, j) is an entry of
-- spatial_weights exactly when (j, i) is.
select w.matrix, w.unit_code_i, w.unit_code_j
from {{ ref('spatial_weights') }} as w
join {{ ref('weight_matrices') }} as m on m.matrix = w.matrix
where m.method in ('queen_contiguity', 'rook_contiguity')
  and not exists (select 1 from {{ ref('spatial_weights') }} as v
                  where v.matrix = w.matrix and v.unit_code_i = w.unit_code_j
                    and v.unit_code_j = w.unit_code_i)
