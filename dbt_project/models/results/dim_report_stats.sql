{{ config(materialized='view') }}
-- Which model statistics each table prints below its coefficients, under which label and in
-- which order. second_line: 'p' prints the test's p-value in parentheses below the
-- statistic, 'se' the standard error (the spatial rho), 'none' nothing.
-- spec_role: 'model' = a statistic of the column's own regression, 'test' = of a test
-- shown in that column (dim_report_columns.role).
-- Table 10 prints its model-level rows in the direct-effect column of each matrix.
select * from (
    values
        ('table4',  'model_stat',  'nobs',             'N',                                    1030, 'none', 'model'),
        ('table4',  'model_stat',  'adj_r2',           'Adj. R²',                              1040, 'none', 'model'),
        ('table4',  'model_stat',  'statistic',        'Hausman test χ² (FE vs RE)',           1050, 'p', 'test'),
        ('table4',  'model_stat',  'df',               'Hausman test df',                      1060, 'none', 'test'),
        ('table5',  'model_stat',  'nobs',             'N',                                    1030, 'none', 'model'),
        ('table5',  'model_stat',  'adj_r2',           'Adj. R²',                              1040, 'none', 'model'),
        ('table5',  'model_stat',  'kp_rk_lm',         'Kleibergen-Paap rk LM statistic',      1050, 'p', 'model'),
        ('table5',  'model_stat',  'cragg_donald_f',   'Cragg-Donald Wald F statistic',        1060, 'none', 'model'),
        ('table5',  'model_stat',  'kp_rk_wald_f',     'Kleibergen-Paap rk Wald F statistic',  1070, 'none', 'model'),
        ('table5',  'model_stat',  'stock_yogo_10pct', 'Stock-Yogo 10% maximal IV size',       1080, 'none', 'model'),
        ('table5',  'model_stat',  'lr_stat',          'LR test of σu = 0',                    1090, 'p', 'model'),
        ('table6',  'model_stat',  'nobs',             'N',                                    1030, 'none', 'model'),
        ('table6',  'model_stat',  'adj_r2',           'Adj. R²',                              1040, 'none', 'model'),
        ('table6',  'mediation',   'indirect',         'Indirect effect a×b (Sobel p)',        1050, 'p', 'model'),
        ('table6',  'mediation',   'sobel_z',          'Sobel z',                              1060, 'none', 'model'),
        ('table7',  'model_stat',  'nobs',             'N',                                    1030, 'none', 'model'),
        ('table7',  'model_stat',  'adj_r2',           'Adj. R²',                              1040, 'none', 'model'),
        ('table8',  'model_stat',  'nobs',             'N',                                    1030, 'none', 'model'),
        ('table8',  'model_stat',  'adj_r2',           'Adj. R²',                              1040, 'none', 'model'),
        ('table10', 'coefficient', 'rho',              'Spatial: rho',                         1030, 'se', 'model'),
        ('table10', 'model_stat',  'profile_ci_low',   'rho: profile-likelihood 95% CI, lower', 1032, 'none', 'model'),
        ('table10', 'model_stat',  'profile_ci_high',  'rho: profile-likelihood 95% CI, upper', 1034, 'none', 'model'),
        ('table10', 'model_stat',  'rho_at_bound',     'rho at its admissible bound (1 = yes)', 1036, 'none', 'model'),
        ('table10', 'model_stat',  'nobs',             'N',                                    1040, 'none', 'model'),
        ('table10', 'model_stat',  'r2_within',        'Within R²',                            1050, 'none', 'model'),
        ('table10', 'model_stat',  'pseudo_r2',        'Pseudo R² (corr² of fitted and actual)', 1060, 'none', 'model'),
        ('table10', 'model_stat',  'log_likelihood',   'Log-likelihood',                       1070, 'none', 'model'),
        ('table10', 'model_stat',  'sigma2',           'σ²',                                   1080, 'none', 'model')
) as t (table_id, source, stat, label, sort_key, second_line, spec_role)
