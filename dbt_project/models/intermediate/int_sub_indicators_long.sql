-- int_sub_indicators in long form, with index, dimension and direction from the seed
-- index_indicators: the input of the entropy composites (which need one row per indicator
-- and unit-year). NULLs are kept (and caught by the not_null test) rather than dropped.
with long as (
    from {{ ref('int_sub_indicators') }}
    unpivot include nulls (value for indicator in (columns(* exclude (unit_code, year))))
)
select m.index, m.dimension, l.indicator, m.direction, l.unit_code, l.year, l.value
from long as l
join {{ ref('index_indicators') }} as m on m.indicator = l.indicator
