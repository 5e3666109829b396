{{ config(contract={'enforced': true}) }}
-- The spatial weight matrices over the study units (docs/DESIGN.md contract): the non-zero weights
-- only, zero diagonal, each row standardised to sum 1. Which matrices, by which formula:
-- seed weight_matrices (int_spatial_weights). Province studies keep province_code_i/_j.
select
    cast(w.matrix as varchar) as matrix,
    cast(w.unit_code_i as integer) as unit_code_i,
    cast(w.unit_code_j as integer) as unit_code_j,
    cast(ui.province_code as integer) as province_code_i,
    cast(uj.province_code as integer) as province_code_j,
    cast(w.weight as double) as weight
from {{ ref('int_spatial_weights') }} as w
join {{ ref('int_units') }} as ui on ui.unit_code = w.unit_code_i
join {{ ref('int_units') }} as uj on uj.unit_code = w.unit_code_j
