-- Descriptive statistics shaped like the paper's Table 3 (sd = sample standard deviation),
-- over marts.analysis_panel; INF and IV are extra rows (not in Table 3; IV has N - 30 rows
-- because it is NULL in the first panel year).
{%- set rows = [
    ('Dependent variable', 'ER', 'er'), ('Independent variable', 'DT', 'dt'),
    ('Mediating variable', 'IS', 'isu'), ('Mediating variable', 'RM', 'rm'),
    ('Mediating variable', 'CU', 'cu'), ('Control variable', 'MEDICAL', 'medical'),
    ('Control variable', 'EC', 'ec'), ('Control variable', 'OPEN', 'open'),
    ('Control variable', 'TAX', 'tax'), ('Control variable', 'CULTURE', 'culture'),
    ('Moderating variable', 'INF', 'inf'), ('Instrument', 'IV', 'iv')] %}
{%- for vtype, label, column in rows %}
select
    {{ loop.index }} as row_order,
    '{{ vtype }}' as variable_type,
    '{{ label }}' as variable,
    '{{ column }}' as panel_column,
    count({{ column }}) as n,
    avg({{ column }}) as mean,
    stddev_samp({{ column }}) as sd,
    min({{ column }}) as min,
    max({{ column }}) as max
from {{ ref('analysis_panel') }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
