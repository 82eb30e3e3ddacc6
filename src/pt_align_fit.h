/*
 * The clock fit of one link (internal to pt_align.c): the lines
 * offset(x) = a + b * x that satisfy every bound of a link's packets, as a
 * convex polygon in (a, b), its centre, and how far its lines stray from
 * the centre's.
 */
#ifndef PT_ALIGN_FIT_H
#define PT_ALIGN_FIT_H

#include <stddef.h>

/* A bound: offset(x) <= y (upper) or offset(x) >= y (lower). */
typedef struct pt__fit_pt {
  double x, y;
} pt__fit_pt;

typedef struct pt__fit {
  double a, b;   /* the estimate */
  double *v;     /* polygon vertices, (a, b) pairs, counter-clockwise in
                    the (b, a) plane */
  size_t nv;     /* vertices */
  double max_db; /* largest |b_vertex - b|: the slope of pt__fit_dev */
} pt__fit;

/*
 * Feasible (a, b) with |b| <= bmax for the upper bounds up[0..nu) and the
 * lower bounds lo[0..nl) (both non-empty; reordered in place).  Sets
 * out->v, out->nv, and out->a, out->b to the polygon's centroid.  Returns
 * 1 (feasible), 0 (no line satisfies every bound: out left empty), or
 * PT_ERR_NOMEM.
 */
int pt__fit_solve(pt__fit_pt *up, size_t nu, pt__fit_pt *lo, size_t nl,
                  double bmax, pt__fit *out);

/*
 * Moves the estimate to the line through the middle of the feasible
 * offsets at x1 and at x2 (the ends of the span the estimate serves),
 * which halves the widest of those two ranges, if that line is in the
 * polygon; else leaves the centroid.
 */
void pt__fit_centre(pt__fit *f, double x1, double x2);

/* max over the polygon of |offset_line(x) - estimate(x)|. */
double pt__fit_dev(const pt__fit *f, double x);

void pt__fit_free(pt__fit *f);

#endif /* PT_ALIGN_FIT_H */
