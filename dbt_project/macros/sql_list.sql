{#- A Jinja list of strings as a SQL list of literals: ['a', 'b'] -> 'a', 'b' -#}
{% macro sql_list(values) -%}
    {%- for v in values -%}'{{ v }}'{%- if not loop.last -%}, {% endif -%}{%- endfor -%}
{%- endmacro %}
