-- One row per multiverse run: how many cells, how many failed, and how robust the focal
-- estimate is across them (shares over the estimated cells; significance at 5%), with the
-- baseline cell's estimate and rank.
with curve as (
    select * from {{ ref('rpt_specification_curve') }}
)

select
    run_id,
    any_value(finished_at) as finished_at,
    any_value(is_latest) as is_latest,
    any_value(estimates_run_id) as estimates_run_id,
    count(*) as cells,
    count(*) filter (where status = 'estimated') as estimated,
    count(*) filter (where status = 'failed') as failed,
    avg(case when is_positive then 1.0 else 0.0 end) filter (where status = 'estimated') as share_positive,
    avg(case when is_significant then 1.0 else 0.0 end) filter (where status = 'estimated') as share_significant,
    avg(case when significance = 'significant positive' then 1.0 else 0.0 end)
        filter (where status = 'estimated') as share_significant_positive,
    median(estimate) filter (where status = 'estimated') as median_estimate,
    min(estimate) as min_estimate,
    max(estimate) as max_estimate,
    any_value(estimate) filter (where is_baseline) as baseline_estimate,
    any_value(rank) filter (where is_baseline) as baseline_rank
from curve
group by run_id
