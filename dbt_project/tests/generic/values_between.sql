{#- Fails for each row whose column lies outside [min_value, max_value] (NULLs are left to
    not_null tests); tolerance absorbs floating-point rounding at the bounds. -#}
{% test values_between(model, column_name, min_value=0, max_value=1, tolerance=1e-12) %}
select *, '{{ column_name }} = ' || {{ column_name }} || ' outside [{{ min_value }}, {{ max_value }}]' as message
from {{ model }}
where {{ column_name }} < {{ min_value }} - {{ tolerance }} or {{ column_name }} > {{ max_value }} + {{ tolerance }}
{% endtest %}
