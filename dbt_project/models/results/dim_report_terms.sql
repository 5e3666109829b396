{{ config(materialized='view') }}
-- How a coefficient term is labelled and ordered in the paper-shaped tables.
-- Terms not listed keep their own name in upper case and sort after the listed ones.
-- is_control marks the control variables (and their lags) that Tables 5-8 summarise as
-- "Controls: YES" instead of printing them, as the paper does.
select * from (
    values
        ('dt',        'DT',         10, false),
        ('l_dt',      'L.DT',       11, false),
        ('dt_pca',    'DT_pca',     12, false),
        ('dt_x_inf',  'INF×DT',     13, false),
        ('inf',       'INF',        14, false),
        ('isu',       'IS',         20, false),
        ('rm',        'RM',         21, false),
        ('cu',        'CU',         22, false),
        ('w_dt',      'W×DT',       30, false),
        ('medical',   'MEDICAL',    40, true),
        ('ec',        'EC',         41, true),
        ('open',      'OPEN',       42, true),
        ('tax',       'TAX',        43, true),
        ('culture',   'CULTURE',    44, true),
        ('l_medical', 'L.MEDICAL',  45, true),
        ('l_ec',      'L.EC',       46, true),
        ('l_open',    'L.OPEN',     47, true),
        ('l_tax',     'L.TAX',      48, true),
        ('l_culture', 'L.CULTURE',  49, true),
        ('w_medical', 'W×MEDICAL',  50, true),
        ('w_ec',      'W×EC',       51, true),
        ('w_open',    'W×OPEN',     52, true),
        ('w_tax',     'W×TAX',      53, true),
        ('w_culture', 'W×CULTURE',  54, true),
        ('const',     'Constant',   90, false)
) as t (term, label, term_order, is_control)
