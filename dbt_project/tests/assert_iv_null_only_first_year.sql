-- iv must be NULL exactly in the first panel year (no lag inside the panel) and non-null
-- in every later year.
select unit_code, year,
    'iv of ' || unit_name || ' in ' || year || case when iv is null then ' is NULL' else ' should be NULL (first panel year)' end as message
from {{ ref('analysis_panel') }}
where (iv is null) <> (year = (select min(year) from {{ ref('int_panel_years') }}))
