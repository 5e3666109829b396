-- The 15 sub-indicators of Table 1 (economic resilience) and the 19 of Table 2 (digital
-- trade), one column each, per study unit-year. Formulas are listed in the seed
-- index_indicators (column formula); units: GDP and fiscal items 100 million yuan,
-- population 10,000 persons, trade 1,000 USD (converted at the year's rate).
with w as (
    select w.*, x.cny_per_100_usd,
        -- 1,000 USD x (CNY per 100 USD) / 100 = CNY; / 1e8 = 100 million yuan
        w.trade_total * 1000 * x.cny_per_100_usd / 100 / 1e8 as trade_total_cny
    from {{ ref('int_series_wide') }} as w
    join {{ ref('int_exchange_rate') }} as x using (year)
)
select
    unit_code,
    year,
    -- Table 1, resistance and recovery
    disposable_income_pc,
    gdp_per_capita,
    fiscal_exp_social_security / fiscal_expenditure as social_security_share,
    deposits / gdp as deposits_to_gdp,
    avg_years_schooling as human_capital,
    -- Table 1, adaptation and adjustment
    fiscal_expenditure / gdp as fiscal_expenditure_to_gdp,
    fiscal_revenue / fiscal_expenditure as fiscal_self_sufficiency,
    consumption_pc,
    unemployment_rate,
    gfcf,
    -- Table 1, innovation and transformation
    fiscal_exp_science / fiscal_expenditure as science_expenditure_share,
    fiscal_exp_education / fiscal_expenditure as education_expenditure_share,
    urbanization_rate,
    rd_expenditure / gdp as rd_to_gdp,
    hightech_patent_applications / (population * 10000) * 100000 as hightech_patents_per_100k,
    -- Table 2, digital infrastructure
    mobile_phone_penetration,
    optical_cable_length,
    broadband_ports,
    domain_names,
    -- Table 2, digital technology
    domestic_patent_applications,
    it_employment,
    fiscal_exp_science,
    industrial_rd_expenditure,
    -- Table 2, digital and industrial integration
    ecommerce_sales,
    ecommerce_enterprise_share,
    broadband_users,
    software_revenue,
    telecom_volume,
    -- Table 2, digital trade potential
    trade_total_cny,
    retail_sales,
    trade_total_cny / gdp as trade_openness,
    -- Table 2, logistics carrying capacity
    postal_route_length,
    express_volume,
    express_revenue
from w
