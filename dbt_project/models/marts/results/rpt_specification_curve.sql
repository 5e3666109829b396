-- The specification curve (Simonsohn, Simmons & Nelson 2020) of every multiverse run: one row
-- per cell of results.multiverse, ranked by its estimate within the run (1 = smallest; ties by
-- spec_key), with its 95% interval, significance and the option of each choice dimension.
-- Cells that could not be estimated keep their row (status 'failed', the reason in error) and
-- get no rank. The latest multiverse run: `where is_latest`; the run of a published estimates
-- run: `where estimates_run_id = '...'` (the run whose baseline the curve's baseline cell reproduces).
with runs as (
    select
        run_id,
        finished_at,
        json_extract_string(parameters, '$.estimates_run_id') as estimates_run_id,
        row_number() over (order by finished_at desc, started_at desc, run_id desc) = 1 as is_latest
    from {{ ref('dim_result_runs') }}
    where kind = 'multiverse' and status = 'succeeded'
),

cells as (
    select * from {{ source('results', 'multiverse') }}
)

select
    cells.run_id,
    runs.finished_at,
    runs.is_latest,
    runs.estimates_run_id,
    case when cells.error is null then
        row_number() over (partition by cells.run_id, cells.error is null order by cells.estimate, cells.spec_key)
    end as rank,
    cells.spec_key,
    cells."index",
    cells.controls,
    cells.effects,
    cells.covariance,
    cells."sample",
    cells."lag",
    cells.model,
    cells.is_baseline,
    cells.term,
    cells.quantity,
    cells.estimate,
    cells.std_error,
    cells.ci_low,
    cells.ci_high,
    cells.p_value,
    cells.estimate > 0 as is_positive,
    cells.p_value < 0.05 as is_significant,
    case
        when cells.error is not null then null
        when cells.p_value >= 0.05 then 'not significant'
        when cells.estimate > 0 then 'significant positive'
        else 'significant negative'
    end as significance,
    cells.nobs,
    case when cells.error is null then 'estimated' else 'failed' end as status,
    cells.error
from cells
join runs using (run_id)
