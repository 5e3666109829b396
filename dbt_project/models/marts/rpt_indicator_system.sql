-- The evaluation systems of the paper's Tables 1 (er) and 2 (dt): dimension, sub-indicator,
-- direction and formula from the seed index_indicators, with the entropy weight of the
-- indicator and of its dimension (pooled weights; NULL in per-year mode, where
-- fct_entropy_weights has one weight per year).
with w as (
    select index, indicator, w_j from {{ ref('fct_entropy_weights') }} where weight_scope = 'pooled'
)
select
    m.index, m.table_order, m.dimension, m.dimension_label, m.indicator, m.indicator_label,
    case m.direction when 'positive' then '+' else '-' end as attribute,
    m.formula, m.unit, w.w_j as weight,
    sum(w.w_j) over (partition by m.index, m.dimension) as dimension_weight
from {{ ref('index_indicators') }} as m
left join w on w.index = m.index and w.indicator = m.indicator
order by m.index desc, m.table_order
