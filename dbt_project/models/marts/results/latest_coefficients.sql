-- Every coefficient of the latest successful run (dim_result_runs.is_latest), with its
-- formatted cells, for quick queries such as
--   select * from marts.latest_coefficients where term = 'dt' order by spec_id
with runs as (
    select * from {{ ref('dim_result_runs') }} where is_latest
),

cells as (
    select * from {{ ref('fct_result_cells') }} where source = 'coefficient'
),

coefficients as (
    select * from {{ source('results', 'coefficients') }}
)

select
    runs.run_id, runs.finished_at, runs.vintage, runs.latest_year,
    cells.spec_id, cells.term, cells.estimate, cells.std_error,
    coefficients.t_stat, cells.p_value, coefficients.ci_low, coefficients.ci_high,
    cells.stars, cells.estimate_cell, cells.se_cell, cells.nobs,
    coefficients.estimator, coefficients.cov_type
from runs
join cells using (run_id)
join coefficients
    on coefficients.run_id = cells.run_id
   and coefficients.spec_id = cells.spec_id
   and coefficients.term = cells.term
