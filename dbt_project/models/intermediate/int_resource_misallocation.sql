-- Resource misallocation RM (paper eqs. 12-13; Hsieh & Klenow 2009 as adapted by Chen & Hu
-- 2011 / Bai & Liu 2018). Each year, over the study units:
--   s_i = nominal GDP share, beta_K = sum_i s_i beta_Ki, beta_L = sum_i s_i beta_Li,
--   gamma_Ki = (K_i / K) / (s_i beta_Ki / beta_K),  gamma_Li = (L_i / L) / (s_i beta_Li / beta_L),
--   tau_Ki = 1 / gamma_Ki - 1,  tau_Li = 1 / gamma_Li - 1,  RM = |tau_Ki| + |tau_Li|.
-- K is the real capital stock (base-year prices), L employment.
with shares as (
    select
        c.unit_code, c.year, e.beta_k, e.beta_l,
        c.gdp / sum(c.gdp) over (partition by c.year) as output_share,
        c.capital_stock / sum(c.capital_stock) over (partition by c.year) as capital_share,
        c.employment / sum(c.employment) over (partition by c.year) as labour_share
    from {{ ref('int_capital_stock') }} as c
    join {{ ref('int_rm_elasticities') }} as e using (unit_code)
),
aggregate as (
    select *,
        sum(output_share * beta_k) over (partition by year) as beta_k_agg,
        sum(output_share * beta_l) over (partition by year) as beta_l_agg
    from shares
),
gammas as (
    select *,
        capital_share / (output_share * beta_k / beta_k_agg) as gamma_k,
        labour_share / (output_share * beta_l / beta_l_agg) as gamma_l
    from aggregate
)
select
    unit_code, year, output_share, capital_share, labour_share, beta_k, beta_l,
    beta_k_agg, beta_l_agg, gamma_k, gamma_l,
    1 / gamma_k - 1 as tau_k,
    1 / gamma_l - 1 as tau_l,
    abs(1 / gamma_k - 1) + abs(1 / gamma_l - 1) as rm
from gammas
