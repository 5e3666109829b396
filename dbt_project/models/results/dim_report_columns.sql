{{ config(materialized='view') }}
-- Layout of the paper's Tables 4-10: which spec (and, for Table 10, which effect) fills
-- which column, the column header, and the fixed-effect rows. The fixed effects mirror
-- estimation/specs.py (SPECS: `effects`); the Moran columns of Table 9 have no spec.
-- role 'model' = a regression column; 'test' = a test reported inside another column
-- (the Hausman test is printed under Table 4's column (4)).
select * from (
    values
        ('table4',  'baseline_pooled',          1, '(1) ER',                    'baseline_pooled',          null, 'model', 'NO',  'NO'),
        ('table4',  'baseline_twfe',            2, '(2) ER',                    'baseline_twfe',            null, 'model', 'YES', 'YES'),
        ('table4',  'baseline_pooled_controls', 3, '(3) ER',                    'baseline_pooled_controls', null, 'model', 'NO',  'NO'),
        ('table4',  'baseline_twfe_controls',   4, '(4) ER',                    'baseline_twfe_controls',   null, 'model', 'YES', 'YES'),
        ('table4',  'baseline_twfe_controls',   4, '(4) ER',                    'hausman',                  null, 'test',  null,  null),
        ('table5',  'iv_2sls',                  1, '(1) ER, FE-2SLS',           'iv_2sls',                  null, 'model', 'YES', 'YES'),
        ('table5',  'lag_dt',                   2, '(2) ER, lagged regressors', 'lag_dt',                   null, 'model', 'YES', 'YES'),
        ('table5',  'pca_measures',             3, '(3) ER_pca',                'pca_measures',             null, 'model', 'YES', 'YES'),
        ('table5',  'excl_municipalities',      4, '(4) ER, no municipalities', 'excl_municipalities',      null, 'model', 'YES', 'YES'),
        ('table5',  'tobit_re',                 5, '(5) ER, RE Tobit',          'tobit_re',                 null, 'model', 'RE',  'YES'),
        ('table6',  'mediation_isu_a',          1, '(1) IS',                    'mediation_isu_a',          null, 'model', 'YES', 'YES'),
        ('table6',  'mediation_isu_b',          2, '(2) ER',                    'mediation_isu_b',          null, 'model', 'YES', 'YES'),
        ('table6',  'mediation_rm_a',           3, '(3) RM',                    'mediation_rm_a',           null, 'model', 'YES', 'YES'),
        ('table6',  'mediation_rm_b',           4, '(4) ER',                    'mediation_rm_b',           null, 'model', 'YES', 'YES'),
        ('table6',  'mediation_cu_a',           5, '(5) CU',                    'mediation_cu_a',           null, 'model', 'YES', 'YES'),
        ('table6',  'mediation_cu_b',           6, '(6) ER',                    'mediation_cu_b',           null, 'model', 'YES', 'YES'),
        ('table7',  'moderation_inf',           1, '(1) ER',                    'moderation_inf',           null, 'model', 'YES', 'YES'),
        ('table7',  'moderation_inf_centred',   2, '(2) ER, centred',           'moderation_inf_centred',   null, 'model', 'YES', 'YES'),
        ('table8',  'region_east',              1, '(1) Eastern',               'region_east',              null, 'model', 'YES', 'YES'),
        ('table8',  'region_central',           2, '(2) Central',               'region_central',           null, 'model', 'YES', 'YES'),
        ('table8',  'region_west',              3, '(3) Western',               'region_west',              null, 'model', 'YES', 'YES'),
        ('table8',  'market_high',              4, '(4) High-marketization',    'market_high',              null, 'model', 'YES', 'YES'),
        ('table8',  'market_low',               5, '(5) Low-marketization',     'market_low',               null, 'model', 'YES', 'YES'),
        ('table9',  'geographic_dt',            1, 'Geographic: DT',            null,                       null, 'moran', null,  null),
        ('table9',  'geographic_er',            2, 'Geographic: ER',            null,                       null, 'moran', null,  null),
        ('table9',  'economic_dt',              3, 'Economic: DT',              null,                       null, 'moran', null,  null),
        ('table9',  'economic_er',              4, 'Economic: ER',              null,                       null, 'moran', null,  null),
        ('table10', 'geographic_direct',        1, '(1) Geographic: direct',    'sdm_geographic',           'direct',   'model', 'YES', 'YES'),
        ('table10', 'geographic_indirect',      2, '(2) Geographic: indirect',  'sdm_geographic',           'indirect', 'model', 'YES', 'YES'),
        ('table10', 'geographic_total',         3, '(3) Geographic: total',     'sdm_geographic',           'total',    'model', 'YES', 'YES'),
        ('table10', 'economic_direct',          4, '(4) Economic: direct',      'sdm_economic',             'direct',   'model', 'YES', 'YES'),
        ('table10', 'economic_indirect',        5, '(5) Economic: indirect',    'sdm_economic',             'indirect', 'model', 'YES', 'YES'),
        ('table10', 'economic_total',           6, '(6) Economic: total',       'sdm_economic',             'total',    'model', 'YES', 'YES')
) as t (table_id, column_key, column_order, header, spec_id, effect, role, province_fe, year_fe)
