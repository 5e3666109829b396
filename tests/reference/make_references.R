# Reference outputs from independent R implementations (plm, AER, sandwich, spdep,
# spatialreg), stored as JSON under tests/reference/ so that Python tests can compare
# against them without R. Run by hand from the repository root:
#
#     Rscript tests/reference/make_references.R
#
# Needs Debian's r-base-core r-cran-plm r-cran-aer r-cran-sandwich r-cran-lmtest
# r-cran-spdep r-cran-spatialreg r-cran-jsonlite r-cran-matrix (no CRAN access needed).
# Inputs: tests/reference/data/*.csv (see README.md there). It (re)writes
# data/produc.csv and data/cigar.csv from plm's datasets, then reads every input from the
# CSV files, so R and Python see the same numbers. Outputs: tests/reference/*.json, each
# with a "meta" block. Every definition used is in DEFINITIONS below and in README.md.

SCRIPT_VERSION <- "2"

suppressPackageStartupMessages({
  library(plm)
  library(AER)
  library(sandwich)
  library(lmtest)
  library(spdep)
  library(spatialreg)
  library(jsonlite)
  library(Matrix)
})

script_dir <- local({
  arg <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  if (length(arg)) dirname(normalizePath(sub("^--file=", "", arg[1]))) else getwd()
})
source(file.path(script_dir, "helpers.R"))
DATA <- file.path(script_dir, "data")
OUT <- script_dir

PACKAGES <- c("plm", "AER", "sandwich", "lmtest", "spdep", "spatialreg", "jsonlite", "Matrix")
# Admissible interval of rho/lambda used by the spatial fits: (1/omega_min, 1) of the
# original row-standardised W, shrunk by BOUND_MARGIN of its width at each end.
BOUND_MARGIN <- 1e-6
TOL_OPT <- 1e-10  # optimize() tolerance on rho/lambda (spatialreg's default is eps^0.5)

DEFINITIONS <- list(
  data = paste(
    "bundled_* are the project's bundled SYNTHETIC sample (marts.analysis_panel,",
    "marts.spatial_weights of a warehouse built on sample/base), not real data.",
    "produc/cigar are plm's Produc (48 US states 1970-1986) and Cigar (46 states incl. DC",
    "1963-1992). Contiguity: hand-written queen contiguity of the 48 contiguous states + DC",
    "(data/us_queen_contiguity.csv), restricted to each dataset's states, binary then",
    "row-standardised: w_ij = c_ij / sum_j c_ij."),
  produc_model = "log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp (Munnell 1990; Baltagi's textbook example); regressor names log_pcap, log_pc, log_emp, unemp",
  cigar_model = paste(
    "static Baltagi-Levin cigarette demand: log(sales) ~ log(price/cpi) + log(pimin/cpi) +",
    "log(ndi/cpi) (real price, real minimum price in adjoining states, real per-capita",
    "disposable income; no lagged sales); regressor names log_real_price, log_real_pimin,",
    "log_real_ndi"),
  bundled_model = "er ~ dt + medical + ec + open + tax + culture",
  twfe_ols = paste(
    "lm(y ~ x + factor(unit) + factor(year)) (LSDV). N rows, G units (clusters), T years,",
    "p slopes. vcov_cluster_hc0 = (X'X)^-1 [sum_g X_g'e_g e_g'X_g] (X'X)^-1 (slope block;",
    "sandwich::vcovCL type='HC0', cadjust=FALSE). vcov_cluster_stata = c * vcov_cluster_hc0,",
    "c = G/(G-1) * (N-1)/(N-K), K = p + 1 + (T-1) (year dummies counted, unit dummies nested",
    "in the clusters not counted; Stata reghdfe / xtreg,fe vce(cluster)).",
    "const = mean(y) - mean(x)'b (Stata's _cons); its covariance is A V A' with",
    "A = [I; -mean(x)'] because the LSDV residuals sum to zero within each cluster.",
    "vcov_unadjusted = vcov(lm) (s^2 = e'e/(N - K_lsdv), K_lsdv = rank of the LSDV design).",
    "vcov_hc1 = sandwich::vcovHC(type='HC1') = N/(N-K_lsdv) White.",
    "vcov_driscoll_kraay = (N-1)/(N-K) * sandwich::vcovPL(cluster=unit, order.by=year,",
    "lag=m, kernel Bartlett, adjust=FALSE), m = floor(4 (T/100)^(2/9)) (xtscc default).",
    "r2 = LSDV R^2 (1 - SSR/TSS about the mean), r2_within = 1 - SSR / within TSS,",
    "sigma = sqrt(SSR/(N - K_lsdv))."),
  pooled_ols = paste(
    "lm(y ~ x) with intercept (term 'const'). vcov_cluster_stata = sandwich::vcovCL(",
    "type='HC1', cadjust=TRUE) = G/(G-1) (N-1)/(N-K) (X'X)^-1 meat (X'X)^-1, K = p + 1",
    "(Stata regress, vce(cluster)); vcov_cluster_hc0 without any factor."),
  fe_2sls = paste(
    "AER::ivreg(er ~ dt + controls + factor(unit) + factor(year) | iv + controls +",
    "factor(unit) + factor(year)) on the rows with iv present. vcov_cluster_hc0 =",
    "vcovCL(type='HC0', cadjust=FALSE) (scores: projected regressors times 2SLS residuals);",
    "vcov_cluster_stata = c * that, c as in twfe_ols with N, T of the IV sample.",
    "First stage: lm(dt ~ iv + controls + factor(unit) + factor(year)).",
    "first_stage_f_nonrobust = t^2 of iv with the classical s^2 (df N - L, L = rank of",
    "the first-stage design incl. all dummies) = Cragg-Donald Wald F with one endogenous",
    "regressor and one instrument; cragg_donald_f recomputes it as (N-L) r2/(1-r2), r2",
    "the squared partial correlation of dt and iv given controls and dummies.",
    "first_stage_wald_cluster_hc0 = b^2 / V_hc0 (cluster, no factor);",
    "first_stage_f_cluster_stata = b^2 / (c V_hc0) (Stata factor as for the 2SLS);",
    "kp_rk_wald_f_ivreg2 = first_stage_wald_cluster_hc0 * (N-L)/(N-1) * (G-1)/G / k_excl",
    "(ivreg2's small-sample scaling of the KP rk Wald F; with one endogenous regressor and",
    "one instrument the KP rk Wald statistic is the cluster-robust first-stage Wald).",
    "kp_rk_lm = (z'x)^2 / sum_g (z_g'x_g)^2, z and x the residuals of iv and dt on the",
    "controls and dummies (cluster-robust score test of the excluded instrument; KP rk LM",
    "with one endogenous regressor and one instrument), chi2(1)."),
  hausman = paste(
    "plm(y ~ x + factor(year), model='within') (unit effects) and model='random'",
    "(Swamy-Arora), both with year dummies as regressors. phtest_all_common = plm::phtest",
    "(fe, re): compares ALL common coefficients (slopes and year dummies), statistic",
    "|d'(V_fe - V_re)^-1 d|, df = their number. slopes_only: the same statistic restricted",
    "to the p slopes (year dummies left out, as the project does), df = p, with the",
    "covariances vcov() of the same plm fits (no sigmamore/sigmaless); NaN-free only if",
    "V_fe - V_re is invertible; 'definite' tells whether it is positive definite",
    "(eigenvalues_vdiff). In a balanced panel the year-dummy differences are linear in the",
    "slope differences, so both statistics coincide and V_fe - V_re over all common",
    "coefficients has rank p: phtest's df counts the year dummies anyway."),
  moran = paste(
    "spdep::moran.test(x, listw = mat2listw(W, style='W'), randomisation, alternative):",
    "I = (n/S0) z'Wz / z'z, E[I] = -1/(n-1), variance under normality",
    "(randomisation=FALSE) or randomisation (TRUE) (Cliff & Ord 1981), z = (I - E)/sqrt(V),",
    "p = P(Z > z) ('greater') or 2 P(Z > |z|) ('two.sided'). W is the row-standardised",
    "matrix (re-standardised by style 'W', a no-op up to rounding)."),
  spatial_panel = paste(
    "Two-way FE spatial panels by the Lee & Yu (2010) transformation approach, fitted with",
    "spatialreg on transformed data: Y* = F_N' Y F_T (Y the N x T matrix of a variable,",
    "F_n the normalised Helmert basis, orthonormal and orthogonal to 1), likewise each X;",
    "for the SDM the W X columns are formed with the ORIGINAL W and then transformed",
    "((WX)* = W* X* for row-standardised W). W* = F_N' W F_N. The (N-1)(T-1) transformed",
    "observations are stacked by period with listw = kronecker(I_{T-1}, W*) held exactly",
    "as given (style 'B' with general weights, no re-standardisation), eigenvalues supplied",
    "(control pre_eig = the eigenvalues of W* repeated T-1 times). lagsarlm (SAR; SDM with",
    "explicit W X columns named w_<x>) and errorsarlm (SEM), method='eigen', no intercept,",
    "interval = (1/omega_min, 1) of the original W shrunk by BOUND_MARGIN of its width at",
    "each end, tol.opt = TOL_OPT. sigma2 = e'e/n*, n* = (N-1)(T-1). Covariance: spatialreg's",
    "analytical asymptotic (information-matrix) covariance of (sigma2, rho|lambda, beta).",
    "log_likelihood = spatialreg's; log_likelihood_project_formula recomputes",
    "-(n*/2) ln(2 pi s2) + (T-1)[ln|I - rho W| - ln(1 - rho)] - e'e/(2 s2) from the",
    "original W's eigenvalues. interval_default_* : the same fit with spatialreg's own",
    "interval 1/range(eigenvalues of W*), whose upper end exceeds 1 (informational)."),
  polished = paste(
    "fits.*.polished: spatialreg's optimize() stops at a relative tolerance of sqrt(eps) in",
    "rho/lambda whatever tol.opt says, so the fit is repeated at the root of the analytic",
    "score of the concentrated log-likelihood (uniroot to machine precision; lag: n* e'Wy/e'e",
    "- sum omega/(1 - rho omega), SEM: n* e'(Wy - WX b)/e'e - sum omega/(1 - lambda omega),",
    "omega = pre_eig): spatialreg evaluated at that rho (interval rho +- 1e-14, where",
    "optimize() returns without iterating) gives the coefficients, covariance, sigma2 and",
    "log-likelihood; score_central_difference = (LL(root + 1e-5) - LL(root - 1e-5))/2e-5 from",
    "spatialreg's LL checks the score; effects as in 'effects' at the polished estimates."),
  effects = paste(
    "At the point estimates, with the ORIGINAL N x N W: S_k = (I - rho W)^-1 (beta_k I +",
    "theta_k W) (theta = 0 for the SAR); direct = mean(diag(S_k)), total =",
    "mean(rowSums(S_k)), indirect = total - direct. impacts_spatialreg: spatialreg::impacts",
    "on the SAR fit and on an SDM refitted with Durbin = TRUE (same model).",
    "with_original_listw: impacts(fit, listw = original W) as such (it refuses: impacts",
    "takes n from the fit's (N-1)(T-1) residuals). n_set_to_N_listw / n_set_to_N_evalues:",
    "impacts on a copy of the fit whose residual vector has length N (and listw_style 'W'),",
    "with listw = original",
    "W (exact dense inverse) or evalues = W's eigenvalues; max_abs_diff_vs_exact compares",
    "them with 'effects'."),
  lm_tests = paste(
    "splm::slmtest(model='within', effect='twoways') re-implemented from its source",
    "(splm 1.6-5, R/slmtest.R; splm itself is not installable here): y, X the two-way",
    "within-transformed data of plm(model='within', effect='twoways'), e its residuals,",
    "b its slopes, sigma2 = e'e/NT, bigW = W (x) I_T in plm's unit-major order,",
    "Tw = tr(WW + W'W), M = I - X(X'X)^-1X', J = (bigW X b)' M (bigW X b)/sigma2 + T Tw,",
    "lml = (e'bigW y/sigma2)^2/J, lme = (e'bigW e/sigma2)^2/(T Tw), rlml = (e'bigW y/sigma2",
    "- e'bigW e/sigma2)^2/(J - T Tw), rlme = (e'bigW e/sigma2 - T Tw/J e'bigW y/sigma2)^2 /",
    "(T Tw (1 - T Tw/J)); chi2(1) p-values. bigW X b is NOT re-demeaned (variant 'splm').",
    "Variant 'redemeaned': identical except that bigW X b is two-way demeaned before M",
    "(the definition in the project's docstring).")
)

meta_block <- function(description, inputs) {
  list(
    script = "tests/reference/make_references.R",
    script_version = SCRIPT_VERSION,
    r_version = R.version.string,
    packages = as.list(vapply(PACKAGES, function(p) as.character(packageVersion(p)),
                              character(1))),
    date = format(Sys.time(), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC"),
    description = description,
    inputs = as.list(vapply(inputs, function(f) unname(tools::md5sum(file.path(DATA, f))),
                            character(1))),
    definitions = DEFINITIONS,
    constants = list(BOUND_MARGIN = BOUND_MARGIN, TOL_OPT = TOL_OPT)
  )
}

# ==== 0. Inputs ================================================================================

data("Produc", package = "plm", envir = environment())
data("Cigar", package = "plm", envir = environment())
produc_out <- Produc
produc_out$state <- as.character(produc_out$state)
produc_out$region <- as.character(produc_out$region)
write_csv_full(produc_out[order(produc_out$state, produc_out$year), ], file.path(DATA, "produc.csv"))
write_csv_full(Cigar[order(Cigar$state, Cigar$year), ], file.path(DATA, "cigar.csv"))

panel <- read.csv(file.path(DATA, "bundled_panel.csv"), stringsAsFactors = FALSE)
bweights <- read.csv(file.path(DATA, "bundled_weights.csv"), stringsAsFactors = FALSE)
produc <- read.csv(file.path(DATA, "produc.csv"), stringsAsFactors = FALSE)
cigar <- read.csv(file.path(DATA, "cigar.csv"), stringsAsFactors = FALSE)
states <- read.csv(file.path(DATA, "us_states.csv"), stringsAsFactors = FALSE,
                   na.strings = c("", "NA"))
edges <- read.csv(file.path(DATA, "us_queen_contiguity.csv"), stringsAsFactors = FALSE)

# -- weights ---------------------------------------------------------------------------------
dense_bundled <- function(name) {
  w <- bweights[bweights$matrix == name, ]
  codes <- sort(unique(c(w$province_code_i, w$province_code_j)))
  W <- matrix(0, length(codes), length(codes), dimnames = list(codes, codes))
  W[cbind(as.character(w$province_code_i), as.character(w$province_code_j))] <- w$weight
  stopifnot(all(diag(W) == 0), max(abs(rowSums(W) - 1)) < 1e-8)
  W
}

# Row-standardised queen contiguity of `abbrev` (in that order), named by `ids`.
contiguity <- function(abbrev, ids) {
  e <- edges[edges$state_i %in% abbrev & edges$state_j %in% abbrev, ]
  C <- matrix(0, length(abbrev), length(abbrev), dimnames = list(abbrev, abbrev))
  C[cbind(e$state_i, e$state_j)] <- 1
  if (!isSymmetric(C)) stop("contiguity edge list is not symmetric")
  if (any(diag(C) != 0)) stop("contiguity edge list has a self-loop")
  if (any(rowSums(C) == 0)) stop("state without neighbour: ",
                                  paste(abbrev[rowSums(C) == 0], collapse = ", "))
  W <- C / rowSums(C)
  dimnames(W) <- list(ids, ids)
  W
}
# The full edge list must be symmetric and free of duplicates on its own.
stopifnot(!any(duplicated(edges)),
          all(paste(edges$state_i, edges$state_j) %in% paste(edges$state_j, edges$state_i)),
          all(c(edges$state_i, edges$state_j) %in% states$state))

W_geo <- dense_bundled("geographic")
W_eco <- dense_bundled("economic")
prod_states <- states[!is.na(states$produc_state), ]
prod_states <- prod_states[order(prod_states$produc_state), ]
W_produc <- contiguity(prod_states$state, prod_states$produc_state)
cig_states <- states[!is.na(states$cigar_state), ]
cig_states <- cig_states[order(cig_states$cigar_state), ]
W_cigar <- contiguity(cig_states$state, as.character(cig_states$cigar_state))
stopifnot(nrow(W_produc) == 48, nrow(W_cigar) == 46)

# -- datasets: id, time, y, regressors ------------------------------------------------------
BUNDLED_X <- c("dt", "medical", "ec", "open", "tax", "culture")
bundled <- data.frame(id = panel$province_code, time = panel$year, y = panel$er,
                      panel[BUNDLED_X], iv = panel$iv)
produc_d <- data.frame(id = produc$state, time = produc$year, y = log(produc$gsp),
                       log_pcap = log(produc$pcap), log_pc = log(produc$pc),
                       log_emp = log(produc$emp), unemp = produc$unemp)
cigar_d <- data.frame(id = cigar$state, time = cigar$year, y = log(cigar$sales),
                      log_real_price = log(cigar$price / cigar$cpi),
                      log_real_pimin = log(cigar$pimin / cigar$cpi),
                      log_real_ndi = log(cigar$ndi / cigar$cpi))
DATASETS <- list(
  bundled = list(data = bundled, x = BUNDLED_X, y_label = "er"),
  produc = list(data = produc_d, x = c("log_pcap", "log_pc", "log_emp", "unemp"),
                y_label = "log_gsp"),
  cigar = list(data = cigar_d, x = c("log_real_price", "log_real_pimin", "log_real_ndi"),
               y_label = "log_sales")
)
for (nm in names(DATASETS)) {
  d <- DATASETS[[nm]]$data
  DATASETS[[nm]]$data <- d[order(d$id, d$time), ]
}
INPUTS <- c("bundled_panel.csv", "bundled_weights.csv", "produc.csv", "cigar.csv",
            "us_states.csv", "us_queen_contiguity.csv")

# ==== A. Linear models ========================================================================

stata_factor <- function(N, G, K) G / (G - 1) * (N - 1) / (N - K)

twfe_ols <- function(ds) {
  d <- ds$data
  xn <- ds$x
  p <- length(xn)
  f <- as.formula(paste("y ~", paste(xn, collapse = " + "), "+ factor(id) + factor(time)"))
  m <- lm(f, data = d)
  stopifnot(!anyNA(coef(m)[xn]))
  N <- nrow(d); G <- length(unique(d$id)); Tn <- length(unique(d$time))
  K <- p + 1 + (Tn - 1)
  k_lsdv <- m$rank
  c_st <- stata_factor(N, G, K)
  b <- coef(m)[xn]
  V0 <- vcovCL(m, cluster = d$id, type = "HC0", cadjust = FALSE)[xn, xn]
  Vs <- c_st * V0
  xbar <- colMeans(d[xn])
  const <- mean(d$y) - sum(xbar * b)
  A <- rbind(diag(p), -xbar)
  Vfull <- A %*% Vs %*% t(A)
  dimnames(Vfull) <- list(c(xn, "const"), c(xn, "const"))
  lag_dk <- floor(4 * (Tn / 100)^(2 / 9))
  Vdk <- vcovPL(m, cluster = d$id, order.by = d$time, lag = lag_dk, kernel = "Bartlett",
                adjust = FALSE)[xn, xn] * (N - 1) / (N - K)
  ssr <- sum(residuals(m)^2)
  yw <- residuals(lm(y ~ factor(id) + factor(time), data = d))
  list(
    formula = deparse1(f), nobs = N, groups = G, periods = Tn, slopes = p,
    k_stata = K, k_lsdv = k_lsdv, stata_factor = c_st,
    coefficients = named(c(b, const = const)),
    se_cluster_stata = named(sqrt(diag(Vfull))),
    vcov_cluster_stata = matrix_block(Vfull),
    vcov_cluster_hc0 = matrix_block(V0),
    vcov_unadjusted = matrix_block(vcov(m)[xn, xn]),
    vcov_hc1 = matrix_block(vcovHC(m, type = "HC1")[xn, xn]),
    driscoll_kraay_lag = lag_dk,
    vcov_driscoll_kraay = matrix_block(Vdk),
    ssr = ssr, r2 = summary(m)$r.squared, r2_within = 1 - ssr / sum(yw^2),
    sigma = summary(m)$sigma
  )
}

pooled_ols <- function(ds) {
  d <- ds$data
  xn <- ds$x
  f <- as.formula(paste("y ~", paste(xn, collapse = " + ")))
  m <- lm(f, data = d)
  N <- nrow(d); G <- length(unique(d$id)); K <- length(xn) + 1
  terms <- c(xn, "const")
  ren <- function(M) {
    M <- M[c(xn, "(Intercept)"), c(xn, "(Intercept)")]
    dimnames(M) <- list(terms, terms)
    M
  }
  Vs <- ren(vcovCL(m, cluster = d$id, type = "HC1", cadjust = TRUE))
  V0 <- ren(vcovCL(m, cluster = d$id, type = "HC0", cadjust = FALSE))
  stopifnot(max(abs(Vs - stata_factor(N, G, K) * V0)) < 1e-12 * max(abs(Vs)))
  list(
    formula = deparse1(f), nobs = N, groups = G, k_stata = K,
    stata_factor = stata_factor(N, G, K),
    coefficients = named(coef(m)[c(xn, "(Intercept)")], terms),
    se_cluster_stata = named(sqrt(diag(Vs))),
    vcov_cluster_stata = matrix_block(Vs), vcov_cluster_hc0 = matrix_block(V0),
    ssr = sum(residuals(m)^2), r2 = summary(m)$r.squared
  )
}

linear <- list()
for (nm in names(DATASETS)) {
  linear[[paste0(nm, "_twfe")]] <- twfe_ols(DATASETS[[nm]])
  linear[[paste0(nm, "_pooled")]] <- pooled_ols(DATASETS[[nm]])
}
write_json_full(list(
  meta = meta_block("A. two-way FE OLS and pooled OLS with cluster-by-unit covariances",
                    INPUTS),
  models = linear), file.path(OUT, "linear_models.json"))
message("linear_models.json written")

# ==== B. FE-2SLS ===============================================================================

fe_2sls <- function(ds) {
  d <- ds$data[!is.na(ds$data$iv), ]
  xn <- ds$x
  ctrl <- setdiff(xn, "dt")
  fe <- "factor(id) + factor(time)"
  f <- as.formula(paste("y ~", paste(xn, collapse = " + "), "+", fe, "|",
                        paste(c("iv", ctrl), collapse = " + "), "+", fe))
  m <- ivreg(f, data = d)
  N <- nrow(d); G <- length(unique(d$id)); Tn <- length(unique(d$time)); p <- length(xn)
  K <- p + 1 + (Tn - 1)
  c_st <- stata_factor(N, G, K)
  V0 <- vcovCL(m, cluster = d$id, type = "HC0", cadjust = FALSE)[xn, xn]
  Vs <- c_st * V0
  # First stage
  f1 <- as.formula(paste("dt ~", paste(c("iv", ctrl), collapse = " + "), "+", fe))
  m1 <- lm(f1, data = d)
  L <- m1$rank
  b1 <- coef(m1)[["iv"]]
  t1 <- summary(m1)$coefficients["iv", "t value"]
  V1_0 <- vcovCL(m1, cluster = d$id, type = "HC0", cadjust = FALSE)["iv", "iv"]
  fx <- as.formula(paste("~", paste(ctrl, collapse = " + "), "+", fe))
  zt <- residuals(lm(update(fx, iv ~ .), data = d))
  xt <- residuals(lm(update(fx, dt ~ .), data = d))
  r2 <- cor(zt, xt)^2  # both have mean zero (the design has a constant)
  sg <- tapply(zt * xt, d$id, sum)
  wald0 <- b1^2 / V1_0
  list(
    formula = deparse1(f), nobs = N, groups = G, periods = Tn, k_stata = K,
    stata_factor = c_st, first_stage_rank_L = L,
    coefficients = named(coef(m)[xn]),
    se_cluster_stata = named(sqrt(diag(Vs))),
    vcov_cluster_stata = matrix_block(Vs), vcov_cluster_hc0 = matrix_block(V0),
    first_stage = list(
      formula = deparse1(f1), coefficient_iv = b1,
      se_iv_cluster_stata = sqrt(stata_factor(N, G, K) * V1_0),
      first_stage_f_nonrobust = t1^2,
      cragg_donald_f = (N - L) * r2 / (1 - r2),
      first_stage_wald_cluster_hc0 = wald0,
      first_stage_f_cluster_stata = b1^2 / (stata_factor(N, G, K) * V1_0),
      kp_rk_wald_f_ivreg2 = wald0 * (N - L) / (N - 1) * (G - 1) / G / 1,
      kp_rk_lm = sum(zt * xt)^2 / sum(sg^2),
      kp_rk_lm_p = pchisq(sum(zt * xt)^2 / sum(sg^2), 1, lower.tail = FALSE)
    )
  )
}
iv <- list(bundled_fe_2sls = fe_2sls(DATASETS$bundled))
write_json_full(list(meta = meta_block("B. FE-2SLS of er on dt (instrument iv) + controls",
                                       INPUTS[1]),
                     models = iv), file.path(OUT, "iv_2sls.json"))
message("iv_2sls.json written")

# ==== C. Hausman ===============================================================================

hausman <- function(ds) {
  d <- ds$data
  xn <- ds$x
  f <- as.formula(paste("y ~", paste(xn, collapse = " + "), "+ factor(time)"))
  pd <- pdata.frame(d[c("id", "time", "y", xn)], index = c("id", "time"))
  fe <- plm(f, data = pd, model = "within", effect = "individual")
  re <- plm(f, data = pd, model = "random", effect = "individual", random.method = "swar")
  ph <- phtest(fe, re)
  dif <- coef(fe)[xn] - coef(re)[xn]
  dV <- vcov(fe)[xn, xn] - vcov(re)[xn, xn]
  ev <- eigen(dV, symmetric = TRUE, only.values = TRUE)$values
  H <- as.numeric(t(dif) %*% solve(dV, dif))
  list(
    formula = deparse1(f), random_method = re$args$random.method,
    phtest_all_common = list(statistic = unname(ph$statistic), df = unname(ph$parameter),
                             p_value = ph$p.value),
    slopes_only = list(statistic = H, df = length(xn),
                       p_value = pchisq(H, length(xn), lower.tail = FALSE),
                       definite = all(ev > 0), eigenvalues_vdiff = I(ev)),
    coefficients_fe = named(coef(fe)[xn]), coefficients_re = named(coef(re)[xn]),
    vcov_fe = matrix_block(vcov(fe)[xn, xn]), vcov_re = matrix_block(vcov(re)[xn, xn]),
    sigma2_idios_re = re$ercomp$sigma2[["idios"]], sigma2_id_re = re$ercomp$sigma2[["id"]]
  )
}
haus <- list(bundled = hausman(DATASETS$bundled), produc = hausman(DATASETS$produc))
write_json_full(list(meta = meta_block("C. Hausman FE vs RE with year dummies", INPUTS),
                     tests = haus), file.path(OUT, "hausman.json"))
message("hausman.json written")

# ==== D. Moran's I ===============================================================================

moran_rows <- function(dataset, matrix_name, W, values, variable, years) {
  lw <- mat2listw(W, style = "W")
  rows <- list()
  for (yr in years) {
    v <- values[[as.character(yr)]]
    for (rand in c(TRUE, FALSE)) for (alt in c("greater", "two.sided")) {
      mt <- moran.test(v, lw, randomisation = rand, alternative = alt)
      rows[[length(rows) + 1]] <- list(
        dataset = dataset, matrix = matrix_name, variable = variable, year = yr,
        randomisation = rand, alternative = alt,
        moran_i = unname(mt$estimate[1]), expected_i = unname(mt$estimate[2]),
        variance = unname(mt$estimate[3]), z = unname(mt$statistic), p_value = mt$p.value)
    }
  }
  rows
}
by_year <- function(d, col, ids) {
  out <- list()
  for (yr in sort(unique(d$time))) {
    s <- d[d$time == yr, ]
    out[[as.character(yr)]] <- s[[col]][match(ids, s$id)]
  }
  out
}
moran <- list()
bd <- DATASETS$bundled$data
bd$er <- bd$y
for (mn in c("geographic", "economic")) {
  W <- if (mn == "geographic") W_geo else W_eco
  for (v in c("er", "dt"))
    moran <- c(moran, moran_rows("bundled", mn, W, by_year(bd, v, as.integer(rownames(W))),
                                 v, sort(unique(bd$time))))
}
pdd <- DATASETS$produc$data
moran <- c(moran, moran_rows("produc", "queen_contiguity", W_produc,
                             by_year(pdd, "y", rownames(W_produc)), "log_gsp",
                             sort(unique(pdd$time))))
write_json_full(list(meta = meta_block("D. global Moran's I per year", INPUTS),
                     results = moran), file.path(OUT, "moran.json"))
message("moran.json written (", length(moran), " rows)")

# ==== E/F. Lee-Yu two-way FE spatial models, effects ===========================================

# N x T matrix of column `col` (rows in W's order, columns sorted years).
wide <- function(d, col, ids) {
  yrs <- sort(unique(d$time))
  M <- matrix(NA_real_, length(ids), length(yrs))
  for (j in seq_along(yrs)) {
    s <- d[d$time == yrs[j], ]
    M[, j] <- s[[col]][match(ids, s$id)]
  }
  stopifnot(!anyNA(M))
  M
}

point_effects <- function(W, rho, beta, theta) {
  N <- nrow(W)
  Ainv <- solve(diag(N) - rho * W)
  out <- list()
  for (k in names(beta)) {
    S <- Ainv %*% (beta[[k]] * diag(N) + theta[[k]] * W)
    direct <- mean(diag(S))
    total <- mean(rowSums(S))
    out[[k]] <- list(direct = direct, indirect = total - direct, total = total)
  }
  out
}

# spatialreg's optimize() stops at a relative tolerance of sqrt(eps) ~ 1.5e-8 in rho whatever
# tol.opt says (R's Brent_fmin: tol1 = sqrt(eps)|x| + tol/3), so its rho carries an error of
# ~1e-8 and the coefficients (b0 - rho b1) one of ~1e-7. The "polished" fit solves the score
# equation dl/drho = 0 of the concentrated log-likelihood to machine precision (uniroot,
# tol 1e-300, so only the 2 eps |rho| term of zeroin's tolerance is left) and then lets
# spatialreg evaluate everything else at that rho: the interval is shrunk to rho +- 1e-14,
# where optimize() returns its first golden-section point without iterating. Scores (n* the
# transformed observations, omega the supplied eigenvalues pre_eig):
#   lag: n* e'(W y)/e'e - sum omega/(1 - rho omega), e the residual of y - rho W y on X;
#   SEM: n* e'(W y - W X b)/e'e - sum omega/(1 - lambda omega), e, b of y - lambda W y on
#        X - lambda W X (envelope theorem: the derivative of the minimised e'e at fixed b).
# score_central_difference checks the analytic score against spatialreg's own log-likelihood:
# (LL(rho + h) - LL(rho - h))/(2h), h = 1e-5, from two more fits at fixed rho.
polished_fit <- function(model, fit_with, df, cols, lw_big, pre_eig, nstar, interval, rho0,
                         W, xnames, sp) {
  y <- df$y
  X <- as.matrix(df[cols])
  Wy <- lag.listw(lw_big, y)
  WX <- apply(X, 2, function(v) lag.listw(lw_big, v))
  score <- function(r) {
    jac <- sum(pre_eig / (1 - r * pre_eig))
    if (model == "sem") {
      f <- lm.fit(X - r * WX, y - r * Wy)
      e <- f$residuals
      nstar * sum(e * (Wy - WX %*% f$coefficients)) / sum(e^2) - jac
    } else {
      e <- lm.fit(X, y - r * Wy)$residuals
      nstar * sum(e * Wy) / sum(e^2) - jac
    }
  }
  g0 <- score(rho0)
  step <- 1e-9 * diff(interval)
  repeat {
    r1 <- min(max(rho0 + sign(g0) * step, interval[1]), interval[2])
    if (sign(score(r1)) != sign(g0)) break
    if (r1 %in% interval) stop("polished_fit: the score does not change sign inside the interval")
    step <- 4 * step
  }
  root <- uniroot(score, sort(c(rho0, r1)), tol = 1e-300, maxiter = 1000)$root
  at <- function(r) fit_with(c(r - 1e-14, r + 1e-14))
  fit <- at(root)
  h <- 1e-5
  rho <- if (model == "sem") fit$lambda else fit$rho
  beta <- fit$coefficients[cols]
  R <- fit$resvar
  dimnames(R) <- list(c("sigma2", sp, cols), c("sigma2", sp, cols))
  V <- R[c(cols, sp), c(cols, sp)]
  out <- list(
    root = root, spatialreg_optimum = rho0, score_at_spatialreg_optimum = g0,
    score_at_root = score(root),
    score_central_difference = (as.numeric(at(root + h)$LL) - as.numeric(at(root - h)$LL)) / (2 * h),
    coefficients = named(c(beta, setNames(rho, sp))),
    se = named(sqrt(diag(V))),
    vcov = matrix_block(V),
    sigma2 = fit$s2, sigma2_se = sqrt(R["sigma2", "sigma2"]),
    log_likelihood = as.numeric(fit$LL)
  )
  if (model != "sem") {
    theta <- if (model == "sdm") setNames(beta[paste0("w_", xnames)], xnames) else
      setNames(rep(0, length(xnames)), xnames)
    out$effects <- point_effects(W, rho, beta[xnames], theta)
  }
  out
}

spatial_fits <- function(dsname, ds, W, wname) {
  d <- ds$data
  ids <- rownames(W)
  N <- length(ids)
  Y <- wide(d, "y", ids)
  Tn <- ncol(Y)
  X <- lapply(setNames(ds$x, ds$x), function(k) wide(d, k, ids))
  FN <- helmert_basis(N)
  FT <- helmert_basis(Tn)
  tr_ <- function(M) as.vector(t(FN) %*% M %*% FT)  # stacked by period: blocks of N-1
  Ws <- t(FN) %*% W %*% FN
  eW <- eigen(W, only.values = TRUE)$values
  stopifnot(max(abs(Im(eW))) < 1e-9)
  eW <- Re(eW)
  eWs <- eigen(Ws, only.values = TRUE)$values
  stopifnot(max(abs(Im(eWs))) < 1e-9)
  eWs <- Re(eWs)
  pre_eig <- rep(eWs, Tn - 1)
  lw_big <- general_listw(kronecker(diag(Tn - 1), Ws))
  lo <- 1 / min(eW); hi <- 1
  interval <- c(lo + BOUND_MARGIN * (hi - lo), hi - BOUND_MARGIN * (hi - lo))
  nstar <- (N - 1) * (Tn - 1)
  df <- data.frame(y = tr_(Y), lapply(X, tr_))
  for (k in ds$x) df[[paste0("w_", k)]] <- tr_(W %*% X[[k]])
  fx <- function(cols) as.formula(paste("y ~", paste(cols, collapse = " + "), "- 1"))
  ctl <- list(pre_eig = pre_eig, tol.opt = TOL_OPT)
  lw_orig <- mat2listw(W, style = "W")

  fits <- list()
  for (model in c("sar", "sdm", "sem")) {
    cols <- if (model == "sdm") c(ds$x, paste0("w_", ds$x)) else ds$x
    fit_with <- function(iv) {
      if (model == "sem") {
        suppressWarnings(errorsarlm(fx(cols), data = df, listw = lw_big, method = "eigen",
                                    interval = iv, control = ctl))
      } else {
        suppressWarnings(lagsarlm(fx(cols), data = df, listw = lw_big, method = "eigen",
                                  interval = iv, control = ctl))
      }
    }
    fit <- fit_with(interval)
    sp <- if (model == "sem") "lambda" else "rho"
    rho <- if (model == "sem") fit$lambda else fit$rho
    beta <- fit$coefficients[cols]
    e <- residuals(fit)
    s2 <- sum(e^2) / nstar
    ll_proj <- -(nstar / 2) * log(2 * pi * s2) +
      (Tn - 1) * (sum(log(1 - rho * eW)) - log(1 - rho)) - sum(e^2) / (2 * s2)
    R <- fit$resvar
    if (model == "sem") {
      # errorsarlm's asymptotic covariance: order (sigma2, lambda, beta), unnamed in some versions
      dimnames(R) <- list(c("sigma2", "lambda", cols), c("sigma2", "lambda", cols))
    } else {
      dimnames(R) <- list(c("sigma2", "rho", cols), c("sigma2", "rho", cols))
    }
    ord <- c(cols, sp)
    V <- R[ord, ord]
    res <- list(
      dataset = dsname, matrix = wname, model = model, n_regions = N, n_periods = Tn,
      n_effective = nstar, interval = I(interval),
      coefficients = named(c(beta, setNames(rho, sp))),
      se = named(sqrt(diag(V))),
      vcov = matrix_block(V),
      sigma2 = fit$s2, sigma2_check_eTe_over_nstar = s2, sigma2_se = sqrt(R["sigma2", "sigma2"]),
      log_likelihood = as.numeric(fit$LL),
      log_likelihood_project_formula = ll_proj
    )
    fd <- fit_with(NULL)
    res$interval_default <- I(fd$interval)
    res$interval_default_estimate <- if (model == "sem") fd$lambda else fd$rho
    res$interval_default_log_likelihood <- as.numeric(fd$LL)
    if (model != "sem") {
      theta <- if (model == "sdm") setNames(beta[paste0("w_", ds$x)], ds$x) else
        setNames(rep(0, length(ds$x)), ds$x)
      res$effects <- point_effects(W, rho, beta[ds$x], theta)
      # spatialreg::impacts with the ORIGINAL listw; for the SDM refit with Durbin = TRUE.
      imp_fit <- if (model == "sar") fit else
        suppressWarnings(lagsarlm(fx(ds$x), data = df, listw = lw_big, method = "eigen",
                                  Durbin = TRUE, interval = interval, control = ctl))
      # impacts() takes n = length(residuals(fit)) = (N-1)(T-1) and insists that the listw
      # (or eigenvalue vector) has that length, so it refuses the original N x N W as such
      # (error kept below). Work-around: a copy of the fit whose residual vector has length
      # N (impacts.Sarlm uses the residuals for nothing else); rho and the coefficients are
      # the fit's own.
      imp_direct <- tryCatch(impacts(imp_fit, listw = lw_orig), error = function(e) e)
      imp_obj <- imp_fit
      imp_obj$residuals <- numeric(N)
      imp_obj$listw_style <- "W"  # the original W is row-standardised (needed for evalues)
      summarise_imp <- function(imp) {
        if (inherits(imp, "error")) return(list(error = conditionMessage(imp)))
        nm <- attr(imp, "bnames")
        ex <- list()
        mx <- 0
        for (k in seq_along(nm)) {
          ex[[nm[k]]] <- list(direct = imp$direct[k], indirect = imp$indirect[k],
                              total = imp$total[k])
          for (eff in c("direct", "indirect", "total"))
            mx <- max(mx, abs(imp[[eff]][k] - res$effects[[nm[k]]][[eff]]))
        }
        list(effects = ex, max_abs_diff_vs_exact = mx)
      }
      res$impacts_spatialreg <- list(
        with_original_listw = if (inherits(imp_direct, "error"))
          list(error = conditionMessage(imp_direct)) else summarise_imp(imp_direct),
        n_set_to_N_listw = summarise_imp(
          tryCatch(impacts(imp_obj, listw = lw_orig), error = function(e) e)),
        n_set_to_N_evalues = summarise_imp(
          tryCatch(impacts(imp_obj, evalues = eW), error = function(e) e)),
        durbin_refit_rho = if (model == "sdm") imp_fit$rho else NULL,
        durbin_refit_max_abs_coef_diff = if (model == "sdm")
          max(abs(unname(imp_fit$coefficients) - unname(beta))) else NULL)
    }
    res$polished <- polished_fit(model, fit_with, df, cols, lw_big, pre_eig, nstar, interval,
                                 rho, W, ds$x, sp)
    fits[[paste(dsname, wname, model, sep = "_")]] <- res
    message(sprintf("  %s %s %s: %s = %.6f, LL = %.6f (project formula %.6f)", dsname, wname,
                    model, sp, rho, fit$LL, ll_proj))
  }
  fits
}

spatial <- c(
  spatial_fits("bundled", DATASETS$bundled, W_geo, "geographic"),
  spatial_fits("bundled", DATASETS$bundled, W_eco, "economic"),
  spatial_fits("produc", DATASETS$produc, W_produc, "queen_contiguity"),
  spatial_fits("cigar", DATASETS$cigar, W_cigar, "queen_contiguity")
)
write_json_full(list(meta = meta_block(
  "E/F. Lee-Yu two-way FE SAR/SDM/SEM by spatialreg on transformed data; exact effects",
  INPUTS), fits = spatial), file.path(OUT, "spatial_panel.json"))
message("spatial_panel.json written")

# ==== G. LM tests (splm::slmtest, model = 'within', effect = 'twoways') ==========================

lm_tests <- function(dsname, ds, W, wname) {
  d <- ds$data
  f <- as.formula(paste("y ~", paste(ds$x, collapse = " + ")))
  pd <- pdata.frame(d[c("id", "time", "y", ds$x)], index = c("id", "time"))
  mod <- plm(f, data = pd, model = "within", effect = "twoways")
  ids <- levels(index(mod)[[1]])
  stopifnot(setequal(ids, rownames(W)))
  W <- W[ids, ids]
  N <- pdim(mod)$nT$n; Tn <- pdim(mod)$nT$T; NT <- pdim(mod)$nT$N
  stopifnot(pdim(mod)$balanced, NT == N * Tn,
            # plm's order: unit slow, time fast
            all(as.character(index(mod)[[1]]) == rep(ids, each = Tn)))
  X <- model.matrix(mod)
  y <- as.numeric(pmodel.response(mod))
  e <- as.numeric(residuals(mod))
  b <- coef(mod)
  bigW <- kronecker(W, diag(Tn))
  Tw <- sum(diag(W %*% W + crossprod(W)))
  sigma2 <- sum(e^2) / NT
  Whaty <- as.vector(bigW %*% (X %*% b))
  Mv <- function(v) v - X %*% solve(crossprod(X), crossprod(X, v))
  tw_demean <- function(v) {
    m <- matrix(v, nrow = Tn)  # column = unit (unit-major vector)
    m <- sweep(m, 2, colMeans(m))
    m <- sweep(m, 1, rowMeans(m))
    as.vector(m)
  }
  r_lag <- sum(e * (bigW %*% y)) / sigma2
  r_err <- sum(e * (bigW %*% e)) / sigma2
  stats_for <- function(wxb) {
    J <- sum(wxb * Mv(wxb)) / sigma2 + Tn * Tw
    tt <- Tn * Tw
    s <- c(lml = r_lag^2 / J, lme = r_err^2 / tt,
           rlml = (r_lag - r_err)^2 / (J - tt),
           rlme = (r_err - tt / J * r_lag)^2 / (tt * (1 - tt / J)))
    c(as.list(s), setNames(as.list(pchisq(s, 1, lower.tail = FALSE)), paste0(names(s), "_p")),
      list(J = J))
  }
  list(dataset = dsname, matrix = wname, formula = deparse1(f), N = N, T = Tn,
       sigma2 = sigma2, Tw = Tw, score_lag = r_lag, score_err = r_err,
       splm = stats_for(Whaty), redemeaned = stats_for(tw_demean(Whaty)))
}
lmt <- list(
  bundled_geographic = lm_tests("bundled", DATASETS$bundled, W_geo, "geographic"),
  bundled_economic = lm_tests("bundled", DATASETS$bundled, W_eco, "economic"),
  produc_queen_contiguity = lm_tests("produc", DATASETS$produc, W_produc, "queen_contiguity"),
  cigar_queen_contiguity = lm_tests("cigar", DATASETS$cigar, W_cigar, "queen_contiguity"))
write_json_full(list(meta = meta_block("G. LM tests on the two-way within model (splm::slmtest definitions)",
                                       INPUTS), tests = lmt), file.path(OUT, "lm_tests.json"))
message("lm_tests.json written")
