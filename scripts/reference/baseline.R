# Independent reference for Circle's baseline needs assessment (`circle report --baseline --json`).
#
# Reads a `circle export` folder (answers_long.csv and codebook.json) and a config JSON naming the
# baseline timepoint, the instruments (in report order) and their cut-offs, scores every
# questionnaire itself (reverse keying, 0-100 transform, minimum-answered rule) and computes every
# number of the report's contract with base R: t.test (var.equal = FALSE for boys vs girls, the
# one-sample t of the profile differences), cor.test (Pearson, Fisher-z CI), p.adjust("holm"),
# quantile(type = 7), median. Prints the JSON (without generatedAt) on stdout.
#
#   Rscript scripts/reference/baseline.R <export-dir> <config.json> > expected.json
#
# The fixture test/fixtures/report/baseline/expected.json comes from this script run on the
# export of test/fixtures/report/answers.csv (see test/analysis/baseline-r.test.ts, which also
# runs it live). Needs R >= 4 and jsonlite.
suppressPackageStartupMessages(library(jsonlite))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript baseline.R <export-dir> <config.json>")
export_dir <- args[[1]]
config <- fromJSON(args[[2]], simplifyVector = FALSE)

answers <- read.csv(file.path(export_dir, "answers_long.csv"),
  colClasses = "character", na.strings = character(0), check.names = FALSE
)
codebook <- fromJSON(file.path(export_dir, "codebook.json"), simplifyVector = FALSE)

SLACK_FRACTION <- 1e-9 # scoring.ts: 0.7 * 10 counts as 7
SLACK_CUTOFF <- 1e-9 # a score "at" the cut-off up to binary rounding

num_or_null <- function(x) if (length(x) == 0 || is.na(x) || !is.finite(x)) NULL else unname(x)
ci_or_null <- function(ci) {
  if (is.null(ci) || any(!is.finite(ci))) NULL else I(unname(as.numeric(ci)))
}

# --- scoring -------------------------------------------------------------------------------------

score_sets <- function(ins, rows) {
  items <- Filter(function(it) !is.null(it$subscale) && !is.null(it$min) && !is.null(it$max), ins$items)
  ids <- vapply(items, function(it) it$id, "")
  subs <- vapply(ins$subscales, function(s) s$id, "")
  keyed_value <- function(it, v) {
    if (is.na(v) || v < it$min || v > it$max) {
      return(NA_real_)
    }
    x <- if (isTRUE(it$reverse)) it$min + it$max - v else v
    if (ins$transform == "0-100") x <- (x - it$min) / (it$max - it$min) * 100
    x
  }
  mean_if_enough <- function(vals) {
    answered <- vals[!is.na(vals)]
    if (length(answered) == 0) {
      return(NA_real_)
    }
    if (length(answered) < ins$minAnsweredFraction * length(vals) - SLACK_FRACTION) {
      return(NA_real_)
    }
    sum(answered) / length(answered)
  }
  codes <- unique(rows$participant)
  out <- lapply(codes, function(code) {
    mine <- rows[rows$participant == code, ]
    vals <- vapply(seq_along(items), function(i) {
      hit <- mine$value[mine$item == ids[[i]]]
      v <- if (length(hit) == 0 || hit[[1]] == "") NA_real_ else as.numeric(hit[[1]])
      keyed_value(items[[i]], v)
    }, 0)
    item_sub <- vapply(items, function(it) it$subscale, "")
    sc <- vapply(subs, function(s) mean_if_enough(vals[item_sub == s]), 0)
    c(sc, total = mean_if_enough(vals))
  })
  scores <- do.call(rbind, out)
  if (is.null(scores)) scores <- matrix(numeric(0), 0, length(subs) + 1)
  colnames(scores) <- c(subs, "total")
  first <- rows[!duplicated(rows$participant), ]
  first <- first[match(codes, first$participant), ]
  list(
    scores = scores, arm = first$arm, gender = first$gender,
    age = as.numeric(first$age), subs = subs, items = items
  )
}

# --- statistics ----------------------------------------------------------------------------------

describe <- function(x) {
  list(
    n = length(x),
    mean = if (length(x) > 0) num_or_null(mean(x)) else NULL,
    sd = if (length(x) > 1) num_or_null(sd(x)) else NULL
  )
}

descriptives <- function(x) {
  d <- describe(x)
  ci <- if (length(x) > 1 && sd(x) > 0) t.test(x)$conf.int else NULL
  # A constant sample: R's t.test stops; the interval is the point itself (SE = 0).
  if (length(x) > 1 && sd(x) == 0) ci <- c(mean(x), mean(x))
  q <- if (length(x) > 0) quantile(x, c(0.25, 0.5, 0.75), type = 7, names = FALSE) else c(NA, NA, NA)
  c(d, list(
    ci95 = ci_or_null(ci),
    median = if (length(x) > 0) num_or_null(median(x)) else NULL,
    q1 = num_or_null(q[[1]]), q3 = num_or_null(q[[3]])
  ))
}

welch <- function(x, y) {
  empty <- list(t = NULL, df = NULL, p = NULL, diff = NULL, ci95 = NULL)
  if (length(x) == 0 || length(y) == 0) {
    return(empty)
  }
  diff <- mean(x) - mean(y)
  if (length(x) < 2 || length(y) < 2 || (sd(x) == 0 && sd(y) == 0)) {
    return(modifyList(empty, list(diff = diff)))
  }
  tt <- t.test(x, y, var.equal = FALSE)
  list(
    t = unname(tt$statistic), df = unname(tt$parameter), p = tt$p.value,
    diff = diff, ci95 = ci_or_null(tt$conf.int)
  )
}

hedges_g <- function(x, y) {
  n1 <- length(x)
  n2 <- length(y)
  if (n1 == 0 || n2 == 0 || n1 + n2 < 3) {
    return(NULL)
  }
  ss <- function(v) sum((v - mean(v))^2)
  sp <- sqrt((ss(x) + ss(y)) / (n1 + n2 - 2))
  if (!(sp > 0)) {
    return(NULL)
  }
  J <- 1 - 3 / (4 * (n1 + n2) - 9) # = 1 - 3/(4 df - 1), df = n1 + n2 - 2 (effect-sizes.ts)
  num_or_null(J * (mean(x) - mean(y)) / sp)
}

pearson <- function(x, y) {
  n <- length(x)
  empty <- list(n = n, r = NULL, p = NULL, ci95 = NULL)
  if (n < 2 || sd(x) == 0 || sd(y) == 0) {
    return(empty)
  }
  if (n < 3) {
    return(modifyList(empty, list(r = cor(x, y))))
  }
  ct <- cor.test(x, y, method = "pearson")
  list(n = n, r = unname(ct$estimate), p = ct$p.value, ci95 = ci_or_null(ct$conf.int))
}

one_sample <- function(d) {
  n <- length(d)
  out <- list(
    n = n, meanDiff = NULL, sdDiff = NULL, t = NULL, df = NULL, p = NULL,
    pHolm = NULL, ci95 = NULL
  )
  if (n == 0) {
    return(out)
  }
  out$meanDiff <- mean(d)
  if (n < 2) {
    return(out)
  }
  out$sdDiff <- sd(d)
  out$df <- n - 1
  if (!(sd(d) / sqrt(n) > 10 * .Machine$double.eps * abs(mean(d)))) {
    return(out)
  }
  tt <- t.test(d)
  out$t <- unname(tt$statistic)
  out$p <- tt$p.value
  out$ci95 <- ci_or_null(tt$conf.int)
  out
}

holm <- function(ps) {
  v <- vapply(ps, function(p) if (is.null(p)) NA_real_ else p, 0)
  if (length(v) == 0) {
    return(list())
  }
  adj <- p.adjust(v, method = "holm")
  lapply(adj, num_or_null)
}

# --- the report ----------------------------------------------------------------------------------

instrument_block <- function(id, cfg) {
  ins <- Filter(function(i) i$id == id, codebook$instruments)[[1]]
  rows <- answers[answers$timepoint == config$timepoint & answers$instrument == id &
    answers$respondent == ins$respondent, ]
  s <- score_sets(ins, rows)
  subs <- s$subs
  sc <- s$scores
  scored <- apply(sc, 1, function(r) any(!is.na(r)))
  sc <- sc[scored, , drop = FALSE]
  arm <- s$arm[scored]
  gender <- s$gender[scored]
  age <- s$age[scored]

  # Shipped instruments share one answer range per instrument: the comparable scale is the score.
  ranges <- unique(vapply(s$items, function(it) paste(it$min, it$max), ""))
  stopifnot(ins$transform == "0-100" || length(ranges) <= 1)
  scale <- if (ins$transform == "0-100") {
    list(basis = "score", min = 0, max = 100)
  } else {
    list(basis = "score", min = s$items[[1]]$min, max = s$items[[1]]$max)
  }

  k <- length(subs)
  complete <- sc[stats::complete.cases(sc[, subs, drop = FALSE]), subs, drop = FALSE]
  relative <- lapply(seq_len(k), function(j) {
    if (k < 2) {
      return(NULL)
    }
    others <- (rowSums(complete) - complete[, j]) / (k - 1)
    one_sample(complete[, j] - others)
  })
  rel_holm <- holm(lapply(relative, function(r) r$p))

  blocks <- lapply(c(subs, "total"), function(m) {
    has <- !is.na(sc[, m])
    x <- sc[has, m]
    cutoff <- cfg$cutoffs[[m]]
    male <- x[gender[has] == "male"]
    female <- x[gender[has] == "female"]
    b <- descriptives(x)
    list(
      id = m,
      cutoff = cutoff,
      n = b$n, mean = b$mean, sd = b$sd, ci95 = b$ci95, median = b$median, q1 = b$q1, q3 = b$q3,
      atOrBelowCutoff = if (is.null(cutoff)) {
        NULL
      } else {
        list(
          n = sum(x <= cutoff + SLACK_CUTOFF),
          percent = if (length(x) == 0) NULL else 100 * sum(x <= cutoff + SLACK_CUTOFF) / length(x)
        )
      },
      gender = list(
        male = describe(male), female = describe(female),
        welchT = welch(male, female), hedgesG = hedges_g(male, female)
      ),
      age = pearson(age[has], x)
    )
  })
  gender_holm <- holm(lapply(blocks[seq_len(k)], function(b) b$gender$welchT$p))
  age_holm <- holm(lapply(blocks[seq_len(k)], function(b) b$age$p))

  means <- vapply(blocks[seq_len(k)], function(b) if (is.null(b$mean)) NA_real_ else b$mean, 0)
  ord <- order(means, seq_len(k), na.last = NA)
  ranking <- subs[ord]

  scores <- lapply(seq_along(blocks), function(i) {
    b <- blocks[[i]]
    total <- b$id == "total"
    w <- b$gender$welchT
    rel <- if (total) NULL else relative[[i]]
    if (!is.null(rel)) rel["pHolm"] <- list(rel_holm[[i]])
    list(
      id = b$id, cutoff = b$cutoff,
      n = b$n, mean = b$mean, sd = b$sd, ci95 = b$ci95, median = b$median, q1 = b$q1, q3 = b$q3,
      atOrBelowCutoff = b$atOrBelowCutoff,
      rank = if (total || !(b$id %in% ranking)) NULL else match(b$id, ranking),
      relative = if (is.null(rel)) NULL else rel[c("n", "meanDiff", "sdDiff", "t", "df", "p", "pHolm", "ci95")],
      gender = list(
        male = b$gender$male, female = b$gender$female,
        welchT = list(
          t = w$t, df = w$df, p = w$p,
          pHolm = if (total) NULL else gender_holm[[i]],
          diff = w$diff, ci95 = w$ci95
        ),
        hedgesG = b$gender$hedgesG
      ),
      age = list(
        n = b$age$n, r = b$age$r, p = b$age$p,
        pHolm = if (total) NULL else age_holm[[i]], ci95 = b$age$ci95
      )
    )
  })

  list(
    instrument = id,
    respondent = ins$respondent,
    scale = scale,
    participants = list(
      total = nrow(sc),
      experimental = sum(arm == "experimental"),
      control = sum(arm == "control"),
      none = sum(arm == "")
    ),
    ranking = I(ranking),
    scores = scores
  )
}

report <- list(
  timepoint = config$timepoint,
  instruments = lapply(names(config$instruments), function(id) {
    instrument_block(id, config$instruments[[id]])
  })
)
# jsonlite prints at most 15 significant digits; 17 make every double read back exactly.
exact <- function(x) {
  if (is.list(x)) {
    return(structure(lapply(x, exact), names = names(x)))
  }
  if (is.numeric(x)) {
    v <- lapply(unclass(x), function(e) structure(sprintf("%.17g", e), class = "json"))
    return(if (inherits(x, "AsIs") || length(x) != 1) v else v[[1]])
  }
  x
}
cat(toJSON(exact(report), auto_unbox = TRUE, null = "null", json_verbatim = TRUE, pretty = TRUE))
cat("\n")
