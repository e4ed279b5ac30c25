# Reference values for src/analysis/stats/mixed-model.ts, from lme4 + lmerTest.
#
#   Rscript scripts/reference/lmm.R generate [OUTDIR]    # writes test/fixtures/stats/lmm/*.json
#   Rscript scripts/reference/lmm.R fit DATA.csv TIMEPOINTS GROUP_EFFECT   # one fit, JSON on stdout
#
# DATA.csv has the columns participant, group, arm, timepoint, y (group empty when there is none);
# TIMEPOINTS is the level order, comma-separated ("pre,post,follow-up"); GROUP_EFFECT is true/false.
#
# The model is the one Circle fits for every score:
#   lmer(y ~ arm * timepoint + (1 | participant) [+ (0 + exp | group)], REML = TRUE)
# with arm's reference level "control", timepoint's the first of TIMEPOINTS, exp = 1 on experimental
# rows and 0 on control rows (whose group is a placeholder level, so the group term is zero there).
#
# The optimiser runs with much tighter tolerances than lme4's defaults (xtol_abs = ftol_abs = 1e-8),
# so the fixtures hold the REML optimum itself rather than a point within 1e-8 of its deviance;
# the TypeScript fit is compared to that. Satterthwaite df, SEs and p-values are lmerTest's own
# (summary(fit)$coefficients); the 95% CI is estimate ± qt(0.975, df) · SE.
# Needs only r-base-core, r-cran-lme4 and r-cran-lmertest (JSON is written by hand, no jsonlite).

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})

tight <- lmerControl(
  optimizer = "nloptwrap",
  optCtrl = list(xtol_abs = 1e-14, ftol_abs = 1e-15, xtol_rel = 0, ftol_rel = 0, maxeval = 1e5)
)

# ---- JSON writer (numbers at 17 significant digits, so doubles round-trip) ----

json_str <- function(s) {
  s <- gsub("\\\\", "\\\\\\\\", s)
  s <- gsub("\"", "\\\\\"", s)
  paste0("\"", s, "\"")
}

json_num <- function(x) {
  if (is.na(x) || !is.finite(x)) "null" else sprintf("%.17g", x)
}

to_json <- function(x) {
  if (is.null(x)) return("null")
  if (inherits(x, "json_array")) {
    return(paste0("[", paste(vapply(unclass(x), to_json, ""), collapse = ","), "]"))
  }
  if (is.list(x)) {
    if (is.null(names(x))) {
      return(paste0("[", paste(vapply(x, to_json, ""), collapse = ","), "]"))
    }
    items <- vapply(names(x), function(k) paste0(json_str(k), ":", to_json(x[[k]])), "")
    return(paste0("{", paste(items, collapse = ","), "}"))
  }
  if (length(x) != 1) stop("to_json: wrap vectors in arr()")
  if (is.logical(x)) return(if (is.na(x)) "null" else if (x) "true" else "false")
  if (is.character(x)) return(if (is.na(x)) "null" else json_str(x))
  json_num(x)
}

arr <- function(x) structure(as.list(x), class = "json_array")

# ---- the reference fit ----

fit_reference <- function(d, timepoints, group_effect) {
  d$arm <- factor(d$arm, levels = c("control", "experimental"))
  d$timepoint <- droplevels(factor(d$timepoint, levels = timepoints))
  d$participant <- factor(d$participant)
  d$exp <- as.numeric(d$arm == "experimental")
  form <- if (group_effect) {
    d$group <- factor(ifelse(d$exp == 1, as.character(d$group), "(control)"))
    y ~ arm * timepoint + (1 | participant) + (0 + exp | group)
  } else {
    y ~ arm * timepoint + (1 | participant)
  }
  messages <- character(0)
  fit <- withCallingHandlers(
    lmer(form, data = d, REML = TRUE, control = tight),
    warning = function(w) {
      messages <<- c(messages, conditionMessage(w))
      invokeRestart("muffleWarning")
    },
    message = function(m) {
      messages <<- c(messages, trimws(conditionMessage(m)))
      invokeRestart("muffleMessage")
    }
  )
  co <- withCallingHandlers(
    summary(fit)$coefficients,
    warning = function(w) {
      messages <<- c(messages, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  vc <- as.data.frame(VarCorr(fit))
  v_part <- vc$vcov[vc$grp == "participant"]
  v_group <- if (group_effect) vc$vcov[vc$grp == "group"] else NA
  v_res <- vc$vcov[vc$grp == "Residual"]
  total <- v_part + v_res + (if (group_effect) v_group else 0)
  fixed <- lapply(seq_len(nrow(co)), function(i) {
    est <- co[i, "Estimate"]
    se <- co[i, "Std. Error"]
    df <- co[i, "df"]
    q <- qt(0.975, df)
    list(
      term = rownames(co)[i], estimate = est, se = se, df = df, t = co[i, "t value"],
      p = co[i, "Pr(>|t|)"], ciLow = est - q * se, ciHigh = est + q * se
    )
  })
  th <- getME(fit, "theta")
  list(
    fixed = fixed,
    variance = list(participant = v_part, group = v_group, residual = v_res),
    icc = list(
      participant = v_part / total,
      group = if (group_effect) v_group / total else NA
    ),
    logLikREML = as.numeric(logLik(fit)),
    devianceREML = unname(REMLcrit(fit)),
    n = nobs(fit),
    participants = nlevels(d$participant),
    # the placeholder control level is not a group
    groups = if (group_effect) length(unique(d$group[d$exp == 1])) else NA,
    singular = isSingular(fit),
    theta = list(
      participant = unname(th[grep("^participant", names(th))]),
      group = if (group_effect) unname(th[grep("^group", names(th))]) else NA
    ),
    sigma = sigma(fit),
    messages = arr(messages),
    r = list(lme4 = as.character(packageVersion("lme4")),
             lmerTest = as.character(packageVersion("lmerTest")),
             R = paste(R.version$major, R.version$minor, sep = "."))
  )
}

# ---- seeded example studies ----

simulate <- function(seed, n_exp, n_ctl, timepoints, exp_groups, sd_part, sd_group, sd_res,
                     effect, miss = 0, miss_pre = 0) {
  set.seed(seed)
  ids <- c(sprintf("E%02d", seq_len(n_exp)), sprintf("C%02d", seq_len(n_ctl)))
  arm <- rep(c("experimental", "control"), c(n_exp, n_ctl))
  group <- if (exp_groups > 0) {
    c(paste0("G", (seq_len(n_exp) - 1) %% exp_groups + 1), rep(NA, n_ctl))
  } else {
    rep(NA, n_exp + n_ctl)
  }
  u_group <- rnorm(max(exp_groups, 1), 0, sd_group)
  u_part <- rnorm(n_exp + n_ctl, 0, sd_part)
  rows <- list()
  for (i in seq_along(ids)) {
    for (k in seq_along(timepoints)) {
      drop_p <- if (k == 1) miss_pre else miss
      if (runif(1) < drop_p) next
      mu <- 50 + 2 * (k - 1) + (if (arm[i] == "experimental") -1 + effect * (k - 1) else 0)
      g <- if (!is.na(group[i])) u_group[as.integer(sub("G", "", group[i]))] else 0
      y <- round(mu + u_part[i] + g + rnorm(1, 0, sd_res), 2)
      rows[[length(rows) + 1]] <- data.frame(
        participant = ids[i], group = group[i], arm = arm[i], timepoint = timepoints[k], y = y
      )
    }
  }
  do.call(rbind, rows)
}

fixture <- function(name, description, d, timepoints, group_effect) {
  obs <- lapply(seq_len(nrow(d)), function(i) {
    list(
      participant = d$participant[i],
      group = if (is.na(d$group[i])) NA_character_ else d$group[i],
      arm = d$arm[i], timepoint = d$timepoint[i], y = d$y[i]
    )
  })
  list(
    name = name, description = description,
    options = list(timepoints = arr(timepoints), groupEffect = group_effect),
    observations = obs,
    expected = fit_reference(d, timepoints, group_effect)
  )
}

# The first seed from 1 whose fit meets `ok` (a deterministic search, so the fixture is reproducible).
first_seed <- function(make, ok) {
  for (s in 1:500) {
    d <- make(s)
    r <- suppressMessages(suppressWarnings(
      fit_reference(d, unique(d$timepoint), any(!is.na(d$group)))
    ))
    if (ok(r)) return(s)
  }
  stop("no seed found")
}

generate <- function(outdir) {
  dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
  tp2 <- c("pre", "post")
  tp3 <- c("pre", "post", "follow-up")
  near <- function(s) simulate(s, 24, 24, tp3, 3, 6, 0.6, 4, 3, miss = 0.1)
  near_seed <- first_seed(near, function(r) {
    th <- r$theta$group
    !r$singular && th > 0.02 && th < 0.08
  })
  sing <- function(s) simulate(s, 15, 15, tp2, 3, 5, 0, 5, 2)
  sing_seed <- first_seed(sing, function(r) r$theta$group == 0)
  sets <- list(
    list("prepost-20", "pre/post, 10 + 10 participants, complete, no group effect",
         simulate(101, 10, 10, tp2, 0, 6, 0, 4, 4), tp2, FALSE),
    list("prepost-60-unbalanced", "pre/post, 30 + 30 participants, some pre and post missing",
         simulate(202, 30, 30, tp2, 0, 5, 0, 5, 3, miss = 0.15, miss_pre = 0.05), tp2, FALSE),
    list("followup-2-groups", "pre/post/follow-up, 12 experimental in 2 groups + 12 control",
         simulate(303, 12, 12, tp3, 2, 6, 3, 4, 3), tp3, TRUE),
    list("followup-3-groups-60", "pre/post/follow-up, 30 experimental in 3 groups + 30 control, 20% missing after pre",
         simulate(404, 30, 30, tp3, 3, 5, 2.5, 4, 2.5, miss = 0.2), tp3, TRUE),
    list("near-singular-group", sprintf("3 groups with a small group variance (theta_group in (0.02, 0.08); seed %d)", near_seed),
         near(near_seed), tp3, TRUE),
    list("singular-group", sprintf("pre/post, 3 groups, group variance estimated at the boundary 0 (seed %d)", sing_seed),
         sing(sing_seed), tp2, TRUE),
    list("followup-missing-cells", "pre/post/follow-up, 20 + 20, follow-up only for half, 2 groups",
         simulate(505, 20, 20, tp3, 2, 4, 2, 3, 2, miss = 0.3, miss_pre = 0.1), tp3, TRUE)
  )
  for (s in sets) {
    f <- do.call(fixture, s)
    path <- file.path(outdir, paste0(s[[1]], ".json"))
    writeLines(to_json(f), path)
    cat(sprintf("%s: n = %d, singular = %s, theta = %s\n", path, f$expected$n, f$expected$singular,
                paste(format(unlist(f$expected$theta), digits = 6), collapse = ", ")))
  }
}

fit_csv <- function(path, timepoints, group_effect) {
  d <- read.csv(path, stringsAsFactors = FALSE, na.strings = "")
  cat(to_json(fit_reference(d, strsplit(timepoints, ",")[[1]], group_effect)), "\n")
}

args <- commandArgs(trailingOnly = TRUE)
if (length(args) >= 1 && args[1] == "generate") {
  generate(if (length(args) >= 2) args[2] else "test/fixtures/stats/lmm")
} else if (length(args) == 4 && args[1] == "fit") {
  fit_csv(args[2], args[3], tolower(args[4]) == "true")
} else {
  stop("usage: Rscript scripts/reference/lmm.R generate [OUTDIR] | fit DATA.csv TIMEPOINTS GROUP_EFFECT")
}
