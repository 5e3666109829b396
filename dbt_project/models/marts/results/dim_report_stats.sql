-- Which model statistics each table prints below its coefficients, under which label and in
-- which order (seed report_stats). second_line: 'p' prints the p-value (the statistic named
-- in p_stat, or the cell's own p-value) in parentheses below the statistic, 'se' the standard
-- error (the spatial rho), 'none' nothing. spec_role: 'model' = a statistic of the column's
-- own regression, 'test' = of a test shown in that column (dim_report_columns.role).
-- Table 10 prints its model-level rows in the direct-effect column of each matrix.
select table_id, source, stat, label, sort_key, second_line, spec_role, p_stat
from {{ ref('report_stats') }}
