# Helpers for make_references.R (sourced by it; not run on its own).
#
# - write_json_full(): a small JSON writer that keeps every double at full precision
#   (jsonlite caps numbers at 15 significant digits, even with digits = NA or I(17)).
# - write_csv_full(): CSV with round-trip number formatting.
# - helmert_basis(): the orthonormal F_{n,n-1} of Lee & Yu (2010).
# - general_listw(): a spdep "listw" holding an arbitrary (possibly negative, non
#   row-standardised) dense matrix exactly as given (spdep::mat2listw refuses negative weights).

# ---- numbers as text --------------------------------------------------------------------

# Shortest of %.15g/%.16g/%.17g that reads back as the same double.
num_text <- function(x) {
  out <- character(length(x))
  for (i in seq_along(x)) {
    v <- x[i]
    if (is.na(v) || !is.finite(v)) {
      out[i] <- NA_character_
      next
    }
    for (d in 15:17) {
      s <- sprintf(paste0("%.", d, "g"), v)
      if (as.numeric(s) == v) break
    }
    out[i] <- s
  }
  out
}

# ---- JSON ---------------------------------------------------------------------------------

json_string <- function(s) as.character(jsonlite::toJSON(s, auto_unbox = TRUE))

# Lists with names -> objects, unnamed lists -> arrays; atomic vectors of length 1 -> scalars
# unless wrapped in I() (then always an array); longer vectors -> arrays; matrices -> arrays of
# rows. NA/NaN/Inf -> null.
to_json <- function(x, indent = 0) {
  pad <- strrep("  ", indent + 1)
  end <- strrep("  ", indent)
  if (is.null(x)) return("null")
  if (is.matrix(x)) {
    rows <- lapply(seq_len(nrow(x)), function(i) I(unname(x[i, ])))
    return(to_json(rows, indent))
  }
  if (is.list(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    items <- vapply(x, to_json, character(1), indent = indent + 1)
    if (!is.null(names(x))) {
      items <- paste0(vapply(names(x), json_string, character(1)), ": ", items)
      return(paste0("{\n", pad, paste(items, collapse = paste0(",\n", pad)), "\n", end, "}"))
    }
    return(paste0("[\n", pad, paste(items, collapse = paste0(",\n", pad)), "\n", end, "]"))
  }
  as_array <- inherits(x, "AsIs") || length(x) != 1
  if (is.factor(x)) x <- as.character(x)
  vals <- if (is.logical(x)) {
    ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else if (is.numeric(x)) {
    s <- num_text(as.numeric(x))
    ifelse(is.na(s), "null", s)
  } else {
    vapply(as.character(x), function(s) if (is.na(s)) "null" else json_string(s), character(1))
  }
  if (!as_array) return(unname(vals))
  if (!is.null(names(x))) {
    # a named vector becomes an object
    return(paste0("{", paste0(vapply(names(x), json_string, character(1)), ": ", vals,
                              collapse = ", "), "}"))
  }
  paste0("[", paste(vals, collapse = ", "), "]")
}

write_json_full <- function(x, path) {
  writeLines(to_json(x), path, useBytes = TRUE)
  invisible(path)
}

# A named numeric vector as a JSON object (term -> value), order kept.
named <- function(v, names_ = names(v)) {
  out <- as.list(unname(as.numeric(v)))
  names(out) <- names_
  out
}

# A covariance matrix as {"names": [...], "matrix": [[...], ...]}.
matrix_block <- function(m) list(names = I(colnames(m)), matrix = unname(m))

# ---- CSV ----------------------------------------------------------------------------------

write_csv_full <- function(df, path) {
  out <- df
  for (col in names(out)) {
    if (is.double(out[[col]])) {
      s <- num_text(out[[col]])
      s[is.na(s)] <- "NA"
      out[[col]] <- s
    } else if (is.factor(out[[col]])) {
      out[[col]] <- as.character(out[[col]])
    }
  }
  write.table(out, path, sep = ",", row.names = FALSE, col.names = TRUE, quote = FALSE,
              na = "NA")
  invisible(path)
}

# ---- Lee-Yu transformation ------------------------------------------------------------------

# Orthonormal F_{n,n-1}: the normalised Helmert contrasts. Columns are orthonormal and
# orthogonal to the vector of ones, so F F' = I - 11'/n (the demeaning matrix). Any such
# basis gives the same likelihood; Helmert makes the reference deterministic.
helmert_basis <- function(n) {
  h <- contr.helmert(n)
  sweep(h, 2, sqrt(colSums(h^2)), "/")
}

# A listw that holds the dense matrix M exactly (style "B": nb2listw keeps glist unchanged),
# zero entries left out, the diagonal kept if non-zero (W* = F'WF has a non-zero diagonal).
general_listw <- function(M) {
  n <- nrow(M)
  nb <- vector("list", n)
  wl <- vector("list", n)
  for (i in seq_len(n)) {
    j <- which(M[i, ] != 0)
    nb[[i]] <- as.integer(j)
    wl[[i]] <- as.numeric(M[i, j])
  }
  class(nb) <- "nb"
  attr(nb, "region.id") <- as.character(seq_len(n))
  attr(nb, "sym") <- isSymmetric(unname(M != 0))
  lw <- suppressWarnings(spdep::nb2listw(nb, glist = wl, style = "B", zero.policy = TRUE))
  stopifnot(max(abs(spdep::listw2mat(lw) - M)) == 0)
  lw
}
