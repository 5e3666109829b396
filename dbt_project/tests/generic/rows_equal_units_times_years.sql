{#- Fails unless the model has exactly one row per study unit (int_units, in_study_sample)
    and panel year (int_panel_years, derived from raw), times `per` rows (e.g. the number of
    dimensions). -#}
{% test rows_equal_units_times_years(model, per=1) %}
with expected as (
    select
        (select count(*) from {{ ref('int_units') }} where in_study_sample)
        * (select count(*) from {{ ref('int_panel_years') }}) * {{ per | int }} as n_expected
),
actual as (select count(*) as n_actual from {{ model }})
select n_expected, n_actual,
    'expected ' || n_expected || ' rows (study units x panel years x {{ per | int }}), found ' || n_actual as message
from expected, actual
where n_expected <> n_actual
{% endtest %}
