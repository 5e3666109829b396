-- The panel's years: every year from the first to the last year observed for an annual
-- series of the dictionary in the study units (one-off cross-sections such as the 1984
-- telephones excluded).
-- Nothing is hard-coded: landing the 2022 vintage extends the panel to 2013-2022.
with bounds as (
    select min(o.year) as first_year, max(o.year) as last_year
    from {{ ref('int_observations') }} as o
    join {{ ref('indicators') }} as i on i.code = o.indicator_code
    where i.frequency = 'annual'
)
select cast(y.year as integer) as year
from bounds, range(bounds.first_year, bounds.last_year + 1) as y(year)
