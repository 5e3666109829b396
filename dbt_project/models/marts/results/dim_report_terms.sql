-- How a coefficient term is labelled and ordered in the paper-shaped tables, derived from the
-- seed analysis_variables: each variable (label, term_order), its one-period lag l_<x>
-- ('L.' label), its spatial lag w_<x> ('W×' label), the interaction terms <a>_x_<b> of the
-- specs ('<B>×<A>'), and the constant. Terms not listed keep their own name in upper case and
-- sort after the listed ones. is_control marks the controls (and their lags) that Tables 5-8
-- summarise as "Controls: YES", as the paper does.
with variables as (
    select variable, label, term_order, role = 'control' as is_control
    from {{ ref('analysis_variables') }}
),

interactions as (
    select distinct
        split_part(interaction, ' ', 1) || '_x_' || split_part(interaction, ' ', 2) as term,
        b.label || '×' || a.label as label,
        a.term_order * 10 + 3 as sort_key,
        false as is_control
    from {{ ref('specs') }} as s
    join variables as a on a.variable = split_part(s.interaction, ' ', 1)
    join variables as b on b.variable = split_part(s.interaction, ' ', 2)
    where s.interaction is not null
)

select variable as term, label, term_order * 10 as sort_key, is_control from variables
union all
select 'l_' || variable, 'L.' || label, term_order * 10 + 1, is_control from variables
union all
select 'w_' || variable, 'W×' || label, term_order * 10 + 2, is_control from variables
union all
select term, label, sort_key, is_control from interactions
union all
select 'const', 'Constant', 900, false
