{#-
  Entropy weight method (paper eqs. 4-10; docs/METHODS.md "Entropy weights, pooled panel"),
  written once and used for both composite indices (ER and DT).

  Input: `relation` with columns index, dimension, indicator, direction
  ('positive'|'negative'), unit_code, year, value; rows of index `index_name` are used.
  For each indicator j and weighting scope (all unit-years when pooled, one year when
  per-year), over the n rows r of the scope:
      x'_rj = (x_rj - min x_j) / (max x_j - min x_j)        positive indicator (eq. 4)
      x'_rj = (max x_j - x_rj) / (max x_j - min x_j)        negative indicator (eq. 5)
      p_rj  = (x'_rj + s) / sum_r (x'_rj + s)               (eq. 6; s = var entropy_shift, 0 by default)
      e_j   = -(1 / ln n) sum_r p_rj ln p_rj, 0 ln 0 = 0    (eq. 7 with the minus sign it drops)
      g_j   = 1 - e_j                                      (eq. 8)
      w_j   = g_j / sum_j g_j                              (eq. 9)
      index_r = sum_j w_j x'_rj                            (eq. 10; the shift s is not added here,
                                                            so the index stays within [0, 1])
  Vars (each can be overridden for one call by the same key in `settings`, a dict; the
  specification curve's index variants are built that way, see models/marts/fct_index_variants.sql):
    entropy_mode: 'pooled' (default) or 'per_year'.
    entropy_shift: s above, default 0 (off).
    entropy_base_years: [y0, y1] (default null): min/max bounds, n and weights come from the
      rows with y0 <= year <= y1 only and are applied to every year; x' is then clipped to
      [0, 1] (a later year beyond the base bounds scores 0 or 1 on that indicator) so that
      indices of new years stay on the base run's scale. Pooled mode only.
  Output: one row per input row with x_std, bounds, n, e_j, g_j, w_j and weight_scope
  ('pooled' or the year).
-#}
{% macro entropy_index(relation, index_name, settings={}) %}
{%- set mode = settings['entropy_mode'] if 'entropy_mode' in settings else var('entropy_mode', 'pooled') -%}
{%- set shift = (settings['entropy_shift'] if 'entropy_shift' in settings else var('entropy_shift', 0)) | float -%}
{%- set base = parse_entropy_base_window(settings['entropy_base_years'] if 'entropy_base_years' in settings
                                         else var('entropy_base_years', none)) -%}
{%- if mode not in ('pooled', 'per_year') -%}
    {{ exceptions.raise_compiler_error("var entropy_mode must be 'pooled' or 'per_year', got '" ~ mode ~ "'") }}
{%- endif -%}
{%- if base is not none and mode != 'pooled' -%}
    {{ exceptions.raise_compiler_error("var entropy_base_years needs entropy_mode 'pooled'") }}
{%- endif %}
(
with scoped as (
    select
        index, dimension, indicator, direction, unit_code, year, value,
        {% if mode == 'per_year' %}cast(year as varchar){% else %}'pooled'{% endif %} as weight_scope,
        {% if base is not none %}year between {{ base[0] }} and {{ base[1] }}{% else %}true{% endif %} as in_base
    from {{ relation }}
    where index = '{{ index_name }}'
),
bounds as (
    select indicator, weight_scope, min(value) as min_value, max(value) as max_value, count(*) as n
    from scoped
    where in_base
    group by indicator, weight_scope
),
standardised as (
    select
        s.*, b.min_value, b.max_value, b.n,
        {%- set raw_std -%}
        (case when s.direction = 'negative' then b.max_value - s.value else s.value - b.min_value end)
            / nullif(b.max_value - b.min_value, 0)
        {%- endset %}
        {% if base is not none %}least(greatest({{ raw_std }}, 0.0), 1.0){% else %}{{ raw_std }}{% endif %} as x_std
    from scoped as s
    join bounds as b on b.indicator = s.indicator and b.weight_scope = s.weight_scope
),
proportions as (
    select
        indicator, weight_scope, n,
        (x_std + {{ shift }}) / sum(x_std + {{ shift }}) over (partition by indicator, weight_scope) as p
    from standardised
    where in_base
),
entropy as (
    select
        indicator, weight_scope,
        -sum(case when p > 0 then p * ln(p) else 0 end) / ln(any_value(n)) as e_j
    from proportions
    group by indicator, weight_scope
),
weights as (
    select
        indicator, weight_scope, e_j,
        1 - e_j as g_j,
        (1 - e_j) / sum(1 - e_j) over (partition by weight_scope) as w_j
    from entropy
)
select
    s.index, s.dimension, s.indicator, s.direction, s.unit_code, s.year, s.value,
    s.weight_scope, s.in_base, s.min_value, s.max_value, s.n, s.x_std,
    w.e_j, w.g_j, w.w_j,
    w.w_j * s.x_std as contribution
from standardised as s
join weights as w on w.indicator = s.indicator and w.weight_scope = s.weight_scope
)
{% endmacro %}

{#- The var entropy_base_years as none or a [first, last] pair of ints. -#}
{% macro entropy_base_window() %}
{{ return(parse_entropy_base_window(var('entropy_base_years', none))) }}
{% endmacro %}

{#- A base window as none or a [first, last] pair of ints. Accepts a list or a string such as
    "[2013, 2021]" or "2013,2021" (the CLI passes --var values as strings). -#}
{% macro parse_entropy_base_window(raw) %}
{%- if raw is none or raw == '' or raw == 'none' or raw == 'null' -%}{{ return(none) }}{%- endif -%}
{%- if raw is string -%}
    {%- set raw = raw.replace('[', '').replace(']', '').split(',') -%}
{%- endif -%}
{%- if raw | length != 2 -%}
    {{ exceptions.raise_compiler_error("var entropy_base_years must be [first_year, last_year], got " ~ raw) }}
{%- endif -%}
{%- set y0 = raw[0] | string | trim | int -%}
{%- set y1 = raw[1] | string | trim | int -%}
{%- if y0 > y1 -%}
    {{ exceptions.raise_compiler_error("var entropy_base_years: first year " ~ y0 ~ " after last year " ~ y1) }}
{%- endif -%}
{{ return([y0, y1]) }}
{% endmacro %}
