-- The headline coefficients of every successful run next to the previous successful run
-- that estimated the same (spec_id, term, effect): how the DT effect moved when a new
-- yearbook vintage was added. Headline = the digital-trade terms (dt, l_dt, dt_pca,
-- dt_x_inf, w_dt) and rho in every spec, plus the direct/indirect/total effects of dt.
-- effect is 'coefficient' for a regression coefficient.
with runs as (
    select * from {{ ref('dim_result_runs') }} where status = 'succeeded'
),

headline as (
    select run_id, spec_id, term,
           case when source = 'spatial_effect' then effect else 'coefficient' end as effect,
           estimate, std_error, p_value, stars
    from {{ ref('fct_result_cells') }}
    where (source = 'coefficient' and term in ('dt', 'l_dt', 'dt_pca', 'dt_x_inf', 'w_dt', 'rho'))
       or (source = 'spatial_effect' and term = 'dt')
),

joined as (
    select runs.run_id, runs.finished_at, runs.vintage, runs.latest_year, runs.success_seq,
           runs.is_latest, headline.spec_id, headline.term, headline.effect,
           headline.estimate, headline.std_error, headline.p_value, headline.stars
    from headline
    join runs using (run_id)
),

with_previous as (
    select
        *,
        lag(run_id) over w as previous_run_id,
        lag(estimate) over w as previous_estimate,
        lag(std_error) over w as previous_std_error,
        lag(p_value) over w as previous_p_value
    from joined
    window w as (partition by spec_id, term, effect order by success_seq)
)

select
    run_id, finished_at, vintage, latest_year, success_seq, is_latest,
    spec_id, term, effect, estimate, std_error, p_value, stars,
    previous_run_id, previous_estimate, previous_std_error, previous_p_value,
    estimate - previous_estimate as change,
    (estimate - previous_estimate) / nullif(abs(previous_estimate), 0) as relative_change
from with_previous
