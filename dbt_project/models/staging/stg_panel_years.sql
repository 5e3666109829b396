-- The panel's years: every year from the first to the last year observed in raw for an
-- annual series (one-year cross-sections such as the 1984 telephones excluded). Nothing is
-- hard-coded: landing the 2022 vintage extends the panel to 2013-2022.
with bounds as (
    select min(year) as first_year, max(year) as last_year
    from {{ ref('stg_observations') }}
    where indicator_code not in ({{ sql_list(var('cross_section_series')) }})
)
select cast(y.year as integer) as year
from bounds, range(bounds.first_year, bounds.last_year + 1) as y(year)
