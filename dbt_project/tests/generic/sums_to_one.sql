{#- Fails for each group whose column sums to something other than 1 (|sum - 1| > tolerance):
    entropy weights per index and scope, spatial-weight matrix rows. -#}
{% test sums_to_one(model, column_name, group_by, tolerance=1e-9) %}
select {{ group_by | join(', ') }}, sum({{ column_name }}) as total,
    'sum of {{ column_name }} is ' || sum({{ column_name }}) || ' for ' || concat_ws(', ', {{ group_by | join(', ') }}) || ' (expected 1 within {{ tolerance }})' as message
from {{ model }}
group by {{ group_by | join(', ') }}
having abs(sum({{ column_name }}) - 1) > {{ tolerance }} or sum({{ column_name }}) is null
{% endtest %}
