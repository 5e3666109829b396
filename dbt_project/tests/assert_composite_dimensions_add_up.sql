-- The dimension scores add up to the analysis_panel's er and dt (within 1e-12).
select c.index, c.unit_code, c.year,
    'dimension scores of ' || c.index || ' for ' || c.unit_code || '/' || c.year || ' sum to ' || sum(c.dimension_score) as message
from {{ ref('fct_composite_index') }} as c
join {{ ref('analysis_panel') }} as a using (unit_code, year)
group by c.index, c.unit_code, c.year, a.er, a.dt
having abs(sum(c.dimension_score) - case c.index when 'er' then a.er else a.dt end) > 1e-12
