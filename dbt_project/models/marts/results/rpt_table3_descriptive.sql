-- Table 3, descriptive statistics of the analysis panel. Built from the current
-- marts.analysis_panel (not from a run), so it has no run_id: it describes the data the
-- latest refresh estimated on.
select * from {{ ref('rpt_descriptive_stats') }}
