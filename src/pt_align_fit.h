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
 * Reorders p[0..n) to put its lower convex hull (lower: 1; the upper hull:
 * 0) first, sorted by x, one point per x; returns how many.  Only those
 * points can be the tightest bound of a line of any slope (the lowest
 * y - b * x, or the highest).
 */
size_t pt__fit_hull(pt__fit_pt *p, size_t n, int lower);

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
 * Moves the estimate to serve the span [x1, x2] it is used over: through
 * the middle of the feasible offsets at the instant x0 where they are
 * narrowest (there the bound is half that range, the least any estimate
 * can have), with, of the slopes whose line through that point stays in
 * the polygon, the one that least strays at the span's ends (the widest
 * bound).  Leaves the centroid if that line is not in the polygon.
 */
void pt__fit_centre(pt__fit *f, double x1, double x2);

/*
 * A minimum of fn, convex on [lo, hi], to within tol (ternary search, at
 * most 110 evaluations of each of two points).
 */
double pt__fit_argmin(double (*fn)(void *ctx, double x), void *ctx, double lo,
                      double hi, double tol);

/* max over the polygon of |offset_line(x) - estimate(x)|. */
double pt__fit_dev(const pt__fit *f, double x);

void pt__fit_free(pt__fit *f);

/*
 * The joint pass (pt_align_joint.c): one packet, or one hull vertex of a
 * node pair's packets, as a constraint on the two nodes' maps to the
 * reference's clock, ref(x) = c + k * x (x: the node's local time).
 */
typedef struct pt__joint_row {
  unsigned s, r; /* sender, receiver */
  double xs, xr; /* the send and the receipt, in their nodes' local times */
  double f;      /* aligned receipt - aligned send at the starting maps */
} pt__joint_row;

/* The least aligned delay the joint pass accepts (us), and what it moves a
 * violated row to: past the rounding error of the maps, far below the
 * microsecond pt_align_time rounds to. */
#define PT__JOINT_MIN 1e-3
#define PT__JOINT_TARGET 1e-2

/*
 * Shifts dc[i], dk[i] (zeroed first) of every node's map such that every
 * row has f + (dc[r] + dk[r] * xr) - (dc[s] + dk[s] * xs) >= PT__JOINT_MIN,
 * by cyclic projections onto the violated rows' half-spaces (in the
 * coordinates (dc, dk * w[i]): w[i] > 0, the largest |x| of node i's span,
 * makes a unit move of either coordinate move the node's times by at most
 * one microsecond over its span).  fixed[i] nodes keep 0.  At most
 * max_rounds sweeps; *rounds receives the sweeps made.  Returns the rows
 * still violated after the last sweep: 0 on success; otherwise dc and dk
 * are zeroed again (no partial move is kept).
 */
size_t pt__joint_solve(const pt__joint_row *rows, size_t n, unsigned nnodes,
                       const unsigned char *fixed, const double *w,
                       size_t max_rounds, double *dc, double *dk,
                       size_t *rounds);

#endif /* PT_ALIGN_FIT_H */
