-- Descriptive statistics shaped like the paper's Table 3 (sd = sample standard deviation)
-- over marts.analysis_panel, one row per variable of the seed analysis_variables with a
-- table3_order (INF and IV are extra rows, not in the paper's Table 3; IV has N - units rows
-- because it is NULL in the first panel year).
with long as (
    unpivot (select * exclude (unit_code, unit_name, unit_level, province_code, province, year,
                               region, is_municipality, market_group)
             from {{ ref('analysis_panel') }})
    on columns(*) into name panel_column value value
)
select
    v.table3_order as row_order,
    v.table3_type as variable_type,
    v.label as variable,
    v.variable as panel_column,
    count(l.value) as n,
    avg(l.value) as mean,
    stddev_samp(l.value) as sd,
    min(l.value) as min,
    max(l.value) as max
from {{ ref('analysis_variables') }} as v
left join long as l on l.panel_column = v.variable
where v.table3_order is not null
group by all
