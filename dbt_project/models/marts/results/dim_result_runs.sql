-- Every model of this folder is a view (dbt_project.yml): is_latest and the paper tables follow results.*
-- the moment a run is published, even before the next dbt build.
-- The run registry with the flags every results mart filters on.
-- "Latest" = the succeeded estimates run that finished last (ties: started last, then run_id),
-- so a run that is still running or failed, or a specification curve (kind 'multiverse', which
-- has no paper tables), never becomes the default.
with runs as (
    select * from {{ source('results', 'runs') }}
),

succeeded as (
    select
        run_id,
        row_number() over (order by finished_at, started_at, run_id) as success_seq,
        count(*) over () as successes
    from runs
    where status = 'succeeded' and coalesce(kind, 'estimates') = 'estimates'
)

select
    runs.run_id,
    runs.flow_run_id,
    runs.started_at,
    runs.finished_at,
    runs.status,
    runs.vintage,
    runs.latest_year,
    runs.files,
    runs.code_version,
    runs.parameters,
    runs.error,
    runs.unit_level,
    coalesce(runs.kind, 'estimates') as kind,
    succeeded.success_seq,
    coalesce(succeeded.success_seq = succeeded.successes, false) as is_latest,
    -- the sample's own marker (raw.load_log.synthetic via results.runs.synthetic); runs recorded
    -- before the marker existed fall back to their vintage label
    coalesce(runs.synthetic, runs.vintage ilike '%synthetic%', false) as is_synthetic
from runs
left join succeeded using (run_id)
