-- When var entropy_base_years freezes the entropy bounds and weights, both ends of the window
-- must be panel years (otherwise the bounds would come from too few or no rows).
{%- set base = entropy_base_window() %}
{% if base is none %}
select null as year, null as message where false
{% else %}
select y.year, 'entropy_base_years year ' || y.year || ' is not a panel year ('
    || (select min(year) from {{ ref('int_panel_years') }}) || '-' || (select max(year) from {{ ref('int_panel_years') }}) || ')' as message
from (values ({{ base[0] }}), ({{ base[1] }})) as y(year)
where y.year not in (select year from {{ ref('int_panel_years') }})
{% endif %}
