-- The entropy composites per study unit-year: index total (er, dt) = sum of the weighted
-- contributions w_j x'_ij of its sub-indicators (eq. 10). The one place the totals are summed;
-- analysis_panel and fct_composite_index read them here.
select index, unit_code, year, sum(contribution) as total
from {{ ref('int_entropy_scores') }}
group by index, unit_code, year
