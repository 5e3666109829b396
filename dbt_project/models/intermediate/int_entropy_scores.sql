-- Both entropy composites from the one macro entropy_index (see macros/entropy_index.sql
-- for formulas and the vars entropy_mode, entropy_shift, entropy_base_years).
select * from {{ entropy_index(ref('int_sub_indicators_long'), 'er') }}
union all
select * from {{ entropy_index(ref('int_sub_indicators_long'), 'dt') }}
