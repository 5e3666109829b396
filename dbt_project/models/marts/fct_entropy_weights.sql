-- One row per index, indicator and weighting scope ('pooled', or the year in per-year mode):
-- the min/max bounds used for standardisation, n, entropy e_j, redundancy g_j and weight w_j.
select distinct
    e.index, e.dimension, e.indicator, e.direction, e.weight_scope,
    case when e.weight_scope = 'pooled' then null else cast(e.weight_scope as integer) end as year,
    {% set base = entropy_base_window() -%}
    {% if base is none %}null{% else %}{{ base[0] }}{% endif %} as base_first_year,
    {% if base is none %}null{% else %}{{ base[1] }}{% endif %} as base_last_year,
    e.n, e.min_value, e.max_value, e.e_j, e.g_j, e.w_j
from {{ ref('int_entropy_scores') }} as e
