-- Layout of the paper's Tables 4-10, derived from the seed specs (the one definition of every
-- specification): which spec fills which column (and, where report_effects is set, which
-- effect: one column per effect, numbered on from column_order), the column header and the
-- fixed-effect rows, read off the spec's effects ('unit' -> province FEs YES; a random unit
-- effect (tobit_re) -> RE). role 'model' = a regression column; 'test' = a test reported
-- inside another spec's column (the Hausman test under Table 4 col. (4), a mediation's
-- indirect effect under its b-path column). print_controls (seed report_tables): the table
-- prints the controls' coefficients instead of a "Controls: YES" row.
with specs as (
    select * from {{ ref('specs') }} where paper_table is not null
),

expanded as (
    select specs.*, e.effect, e.position
    from specs
    left join lateral (
        select unnest(string_split(specs.report_effects, ' ')) as effect,
               generate_subscripts(string_split(specs.report_effects, ' '), 1) as position
    ) as e on true
)

select
    paper_table as table_id,
    case when effect is null then column_key else column_key || '_' || effect end as column_key,
    column_order + coalesce(position, 1) - 1 as column_order,
    case when effect is null then header
         else '(' || (column_order + position - 1) || ') ' || header || ': ' || effect end as header,
    spec_id,
    effect,
    report_role as role,
    case when report_role <> 'model' or estimator = 'moran' then null
         when estimator = 'tobit_re' then 'RE'
         when list_contains(string_split(coalesce(effects, ''), ' '), 'unit') then 'YES'
         else 'NO' end as province_fe,
    case when report_role <> 'model' or estimator = 'moran' then null
         when list_contains(string_split(coalesce(effects, ''), ' '), 'time') then 'YES'
         else 'NO' end as year_fe,
    estimator,
    coalesce(t.print_controls, false) as print_controls
from expanded
left join {{ ref('report_tables') }} as t on t.table_id = expanded.paper_table
