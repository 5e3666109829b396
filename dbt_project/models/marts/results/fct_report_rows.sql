-- The cells of the paper-shaped Tables 4-10 in long form: one row per
-- (run_id, table_id, column_key, row_key, line). rpt_table4_baseline ... rpt_table10_spatial_effects
-- pivot this on column_key. sort_key orders the rows within a table; line is 'estimate'
-- (the first line of a term or statistic), 'se' (standard error below it) or 'p' (p-value
-- below a test statistic).
with cells as (
    select * from {{ ref('fct_result_cells') }}
),

layout as (
    select * from {{ ref('dim_report_columns') }}
),

terms as (
    select * from {{ ref('dim_report_terms') }}
),

stat_rows as (
    select * from {{ ref('dim_report_stats') }}
),

-- Coefficient terms of the regression columns (columns without report effects): Table 4
-- prints every term; the other tables summarise the controls as "Controls: YES" (as the
-- paper does). Columns with report effects (Table 10) print every effect of every term.
term_cells as (
    select cells.run_id, layout.table_id, layout.column_key,
           coalesce(terms.sort_key, 800) as sort_key, cells.term as row_key,
           coalesce(terms.label, upper(cells.term)) as row_label,
           cells.estimate_cell, cells.se_cell
    from cells
    join layout on layout.spec_id = cells.spec_id and layout.role = 'model' and layout.effect is null
    left join terms on terms.term = cells.term
    where cells.source = 'coefficient'
      and (layout.print_controls or not coalesce(terms.is_control, false))
    union all
    select cells.run_id, layout.table_id, layout.column_key,
           coalesce(terms.sort_key, 800), cells.term,
           coalesce(terms.label, upper(cells.term)),
           cells.estimate_cell, cells.se_cell
    from cells
    join layout on layout.spec_id = cells.spec_id and layout.effect = cells.effect
    left join terms on terms.term = cells.term
    where cells.source = 'spatial_effect'
),

term_rows as (
    select run_id, table_id, column_key, sort_key, row_key, 0 as line_seq, 'estimate' as line,
           row_label, estimate_cell as cell
    from term_cells
    union all
    select run_id, table_id, column_key, sort_key, row_key, 1, 'se', '', se_cell
    from term_cells
),

-- Moran columns (Table 9): one row per year.
moran_rows as (
    select cells.run_id, layout.table_id, layout.column_key, cells.year as sort_key,
           cells.year::varchar as row_key, 0 as line_seq, 'estimate' as line,
           cells.year::varchar as row_label, cells.estimate_cell as cell
    from cells
    join layout on layout.spec_id = cells.spec_id
    where cells.source = 'moran'
),

-- Controls / fixed-effect rows of each regression column.
spec_controls as (
    select cells.run_id, cells.spec_id, bool_or(coalesce(terms.is_control, false)) as has_controls
    from cells
    left join terms on terms.term = cells.term
    where cells.source = 'coefficient'
    group by cells.run_id, cells.spec_id
),

model_columns as (
    select spec_controls.run_id, layout.*, spec_controls.has_controls
    from layout
    join spec_controls on spec_controls.spec_id = layout.spec_id
    where layout.role = 'model'
),

design_rows as (
    select run_id, table_id, column_key, 1000 as sort_key, 'controls' as row_key, 0 as line_seq,
           'estimate' as line, 'Controls' as row_label,
           case when has_controls then 'YES' else 'NO' end as cell
    from model_columns
    union all
    -- the unit effects are named after the run's level: Province FEs as in the paper
    select m.run_id, table_id, column_key, 1010, 'province_fe', 0, 'estimate',
           upper(left(level, 1)) || substr(level, 2) || ' FEs', province_fe
    from model_columns as m
    join (select run_id, coalesce(unit_level, 'province') as level from {{ ref('dim_result_runs') }}) using (run_id)
    union all
    select run_id, table_id, column_key, 1020, 'year_fe', 0, 'estimate', 'Year FEs', year_fe
    from model_columns
),

-- Model statistics and tests (dim_report_stats says which, where and how).
stat_cells as (
    select cells.run_id, layout.table_id, layout.column_key, stat_rows.sort_key,
           stat_rows.stat as row_key, stat_rows.label, stat_rows.second_line,
           cells.estimate_cell, cells.se_cell, cells.p_cell
    from cells
    join layout
        on layout.spec_id = cells.spec_id
       and (layout.effect is null or layout.effect = 'direct')
    join stat_rows
        on stat_rows.table_id = layout.table_id
       and stat_rows.source = cells.source
       and stat_rows.stat = cells.term
       and stat_rows.spec_role = layout.role
),

stat_lines as (
    select run_id, table_id, column_key, sort_key, row_key, 0 as line_seq, 'estimate' as line,
           label as row_label, estimate_cell as cell
    from stat_cells
    union all
    select run_id, table_id, column_key, sort_key, row_key, 1, second_line, '',
           case second_line when 'p' then p_cell else se_cell end
    from stat_cells
    where second_line <> 'none'
),

-- Mediation: the bootstrap confidence interval of a*b, one row per CI method, printed in
-- the column the mediation spec is laid out in (the b path of Table 6).
mediation_ci as (
    select m.run_id, layout.table_id, layout.column_key,
           1070 + dense_rank() over (partition by m.run_id order by m.method) as sort_key,
           'ci_' || m.method as row_key, 0 as line_seq, 'estimate' as line,
           '95% CI of a×b (' || m.method || ', ' || coalesce(m.replications::varchar, '?')
               || ' replications)' as row_label,
           printf('[%.4f, %.4f]', m.ci_low, m.ci_high) as cell
    from {{ source('results', 'mediation') }} as m
    join layout on layout.spec_id = m.spec_id
    where m.ci_low is not null and m.ci_high is not null
)

select
    run_id, table_id, column_key, sort_key, row_key, line_seq, line, row_label, cell,
    run_id || '|' || table_id || '|' || column_key || '|' || row_key || '|' || line as cell_key
from (
    select * from term_rows
    union all select * from moran_rows
    union all select * from design_rows
    union all select * from stat_lines
    union all select * from mediation_ci
)
