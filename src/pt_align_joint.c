/*
 * The joint consistency pass of pt_align_solve (pt_align_fit.h,
 * docs/clocks.md "The joint pass"): every packet between two aligned nodes
 * is a half-space in the space of all the nodes' maps (received at or
 * after it was sent); the true clocks lie in all of them, so when the
 * clocks kept a constant rate their intersection is not empty, and cyclic
 * projection onto the violated ones reaches it (Agmon, Motzkin and
 * Schoenberg: finitely, as each projection aims PT__JOINT_TARGET inside a
 * row that only needs PT__JOINT_MIN, and the truth lies deeper, by the
 * packets' delays).  A sweep costs one pass over the rows; the budget
 * bounds the sweeps, so contradictory input ends with the rows unmet.
 */
#include "pt_align_fit.h"

#include <string.h>

static double row_value(const pt__joint_row *q, const double *dc,
                        const double *dk) {
  return q->f + (dc[q->r] + dk[q->r] * q->xr) - (dc[q->s] + dk[q->s] * q->xs);
}

size_t pt__joint_solve(const pt__joint_row *rows, size_t n, unsigned nnodes,
                       const unsigned char *fixed, const double *w,
                       size_t max_rounds, double *dc, double *dk,
                       size_t *rounds) {
  memset(dc, 0, nnodes * sizeof *dc);
  memset(dk, 0, nnodes * sizeof *dk);
  size_t unmet = 0;
  *rounds = 0;
  for (size_t round = 0; round < max_rounds; round++) {
    unmet = 0;
    for (size_t i = 0; i < n; i++) {
      const pt__joint_row *q = &rows[i];
      double v = row_value(q, dc, dk);
      if (v >= PT__JOINT_MIN) {
        continue;
      }
      unmet++;
      /* The gradient in (dc, dk * w): receiver (1, xr / w), sender
       * (-1, -xs / w); a fixed node's part is 0. */
      double gr = fixed[q->r] ? 0 : q->xr / w[q->r];
      double gs = fixed[q->s] ? 0 : q->xs / w[q->s];
      double norm =
          (fixed[q->r] ? 0 : 1 + gr * gr) + (fixed[q->s] ? 0 : 1 + gs * gs);
      if (!(norm > 0)) {
        continue; /* both ends fixed: nothing can move it */
      }
      double step = (PT__JOINT_TARGET - v) / norm;
      if (!fixed[q->r]) {
        dc[q->r] += step;
        dk[q->r] += step * gr / w[q->r];
      }
      if (!fixed[q->s]) {
        dc[q->s] -= step;
        dk[q->s] -= step * gs / w[q->s];
      }
    }
    *rounds = round + 1;
    if (unmet == 0) {
      return 0;
    }
  }
  /* Out of budget: recount after the last sweep, and keep nothing. */
  unmet = 0;
  for (size_t i = 0; i < n; i++) {
    unmet += row_value(&rows[i], dc, dk) < PT__JOINT_MIN;
  }
  if (unmet > 0) {
    memset(dc, 0, nnodes * sizeof *dc);
    memset(dk, 0, nnodes * sizeof *dk);
  }
  return unmet;
}
