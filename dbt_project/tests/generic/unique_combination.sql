{#- Fails for each combination of `columns` that occurs more than once. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows,
    'duplicate ' || concat_ws(', ', {{ columns | join(', ') }}) || ' (' || count(*) || ' rows)' as message
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
