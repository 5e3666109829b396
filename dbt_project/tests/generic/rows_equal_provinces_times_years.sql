{#- Fails unless the model has exactly one row per study province (seed provinces,
    in_study_sample) and panel year (stg_panel_years, derived from raw), times `per` rows
    (e.g. the number of dimensions). -#}
{% test rows_equal_provinces_times_years(model, per=1) %}
with expected as (
    select
        (select count(*) from {{ ref('provinces') }} where in_study_sample)
        * (select count(*) from {{ ref('stg_panel_years') }}) * {{ per }} as n_expected
),
actual as (select count(*) as n_actual from {{ model }})
select n_expected, n_actual,
    'expected ' || n_expected || ' rows (study provinces x panel years x {{ per }}), found ' || n_actual as message
from expected, actual
where n_expected <> n_actual
{% endtest %}
