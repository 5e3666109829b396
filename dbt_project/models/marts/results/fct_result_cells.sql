-- Every number the paper-shaped tables print, one row each, formatted in ONE place:
--   stars         '***' p < 0.01, '**' p < 0.05, '*' p < 0.1, '' otherwise (or no p-value)
--   estimate_cell estimate to 3 decimals followed by the stars ("0.498***"); counts
--                 (nobs, df) as integers; the error variance sigma2 to 4 significant digits
--   se_cell       standard error to 3 decimals in parentheses ("(0.025)")
--   p_cell        p-value to 3 decimals in parentheses, the second line of a test statistic
-- Sources: coefficients; spatial_effects (effect = direct/indirect/total: the point effect
-- at the estimates, its simulated SE and the p-value of their ratio); moran (term =
-- variable; standard error and stars from the randomisation null with the one-sided
-- "greater" p-value, spdep's moran.test default; a run written before those columns existed
-- gets no stars); model_stats (term = stat; a test statistic gets the p-value
-- named by p_stat in the seed report_stats: kp_rk_lm_p, lr_p, p_value); mediation (term
-- 'indirect' with the Sobel p-value, term 'sobel_z').
with coefficients as (
    select run_id, 'coefficient' as source, spec_id, term, null::varchar as effect,
           null::integer as year, estimate, std_error, p_value, nobs
    from {{ source('results', 'coefficients') }}
),

spatial_effects as (
    select run_id, 'spatial_effect' as source, spec_id, term, effect,
           null::integer as year, estimate, std_error, p_value, null::integer as nobs
    from {{ source('results', 'spatial_effects') }}
),

moran as (
    select run_id, 'moran' as source, spec_id, variable as term,
           null::varchar as effect, year, moran_i as estimate, sqrt(variance_rand) as std_error,
           p_rand_greater as p_value, null::integer as nobs
    from {{ source('results', 'moran') }}
),

stats as (
    select * from {{ source('results', 'model_stats') }}
),

paired_p as (
    select distinct stat, p_stat from {{ ref('report_stats') }} where p_stat is not null
),

model_stats as (
    select stats.run_id, 'model_stat' as source, stats.spec_id, stats.stat as term,
           null::varchar as effect, null::integer as year, stats.value as estimate,
           null::double as std_error, p.value as p_value, null::integer as nobs
    from stats
    left join paired_p using (stat)
    left join stats as p
        on p.run_id = stats.run_id and p.spec_id = stats.spec_id and p.stat = paired_p.p_stat
),

-- N for a spec whose model_stats lack 'nobs': the coefficient rows carry it.
nobs_from_coefficients as (
    select run_id, 'model_stat' as source, spec_id, 'nobs' as term, null::varchar as effect,
           null::integer as year, max(nobs)::double as estimate, null::double as std_error,
           null::double as p_value, null::integer as nobs
    from coefficients
    where not exists (
        select 1 from stats
        where stats.run_id = coefficients.run_id and stats.spec_id = coefficients.spec_id
          and stats.stat = 'nobs'
    )
    group by run_id, spec_id
    having max(nobs) is not null
),

mediation_by_mediator as (
    select run_id, spec_id,
           any_value(indirect) as indirect, any_value(sobel_z) as sobel_z,
           any_value(sobel_p) as sobel_p
    from {{ source('results', 'mediation') }}
    group by run_id, spec_id
),

mediation as (
    select run_id, 'mediation' as source, spec_id, 'indirect' as term, null::varchar as effect,
           null::integer as year, indirect as estimate, null::double as std_error,
           sobel_p as p_value, null::integer as nobs
    from mediation_by_mediator
    union all
    select run_id, 'mediation', spec_id, 'sobel_z', null, null, sobel_z, null, null, null
    from mediation_by_mediator
),

cells as (
    select * from coefficients
    union all select * from spatial_effects
    union all select * from moran
    union all select * from model_stats
    union all select * from nobs_from_coefficients
    union all select * from mediation
),

starred as (
    select
        *,
        case
            when p_value < 0.01 then '***'
            when p_value < 0.05 then '**'
            when p_value < 0.1 then '*'
            else ''
        end as stars
    from cells
)

select
    run_id, source, spec_id, term, effect, year, estimate, std_error, p_value, nobs, stars,
    case
        when estimate is null or isnan(estimate) then null
        when source = 'model_stat' and term in ('nobs', 'df', 'rho_at_bound') then printf('%d', round(estimate)::bigint)
        when source = 'model_stat' and term = 'sigma2' then printf('%.4g', estimate)
        else printf('%.3f', estimate) || stars
    end as estimate_cell,
    case when std_error is null or isnan(std_error) then null else printf('(%.3f)', std_error) end as se_cell,
    case when p_value is null or isnan(p_value) then null else printf('(%.3f)', p_value) end as p_cell
from starred
