-- depends_on: {{ ref('int_sub_indicators') }}
-- Every indicator of the seed index_indicators (Tables 1-2: 15 for er, 19 for dt) has one
-- row per study unit-year in int_sub_indicators_long, and the model has no indicator the
-- seed lacks.
with expected as (
    select m.index, m.indicator,
        (select count(*) from {{ ref('int_units') }} where in_study_sample)
        * (select count(*) from {{ ref('int_panel_years') }}) as n_expected
    from {{ ref('index_indicators') }} as m
),
actual as (
    select index, indicator, count(*) as n_actual from {{ ref('int_sub_indicators_long') }} group by all
)
select e.index, e.indicator,
    'indicator ' || e.indicator || ' of ' || e.index || ': ' || coalesce(a.n_actual, 0) || ' rows, expected ' || e.n_expected as message
from expected as e left join actual as a using (index, indicator)
where coalesce(a.n_actual, 0) <> e.n_expected
union all
select null, c.column_name, 'column ' || c.column_name || ' of int_sub_indicators is not in seed index_indicators'
from information_schema.columns as c
where c.table_schema = 'intermediate' and c.table_name = 'int_sub_indicators'
  and c.column_name not in ('unit_code', 'year')
  and c.column_name not in (select indicator from {{ ref('index_indicators') }})
union all
select index, null, 'index ' || index || ' has ' || count(*) || ' indicators in the seed, Table '
    || case index when 'er' then '1 has 15' else '2 has 19' end
from {{ ref('index_indicators') }}
group by index
having count(*) <> case index when 'er' then 15 when 'dt' then 19 end
