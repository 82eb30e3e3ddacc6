/*
 * The clock fit of one link: see pt_align_fit.h and docs/clocks.md.
 *
 * Upper bounds a + b*x <= y_i hold for every (a, b) with
 * a <= U(b) = min_i (y_i - b*x_i), lower bounds a + b*x >= y_j for
 * a >= L(b) = max_j (y_j - b*x_j).  Only the points on the lower convex hull
 * of the upper bounds (the upper hull of the lower bounds) ever reach the
 * minimum (maximum), and U (L) is piecewise linear with a break at each
 * hull edge's slope.  U - L is concave, so the feasible b form an interval,
 * and the polygon is the region between L and U over it.  Everything is
 * O(n log n) in the bounds: no clipping of a polygon by each bound, which a
 * hostile file with every point on its hull would make quadratic.
 */
#include "pt_align_fit.h"

#include <math.h>
#include <stdlib.h>

#include <peertrace/peertrace.h>

static double cross(pt__fit_pt o, pt__fit_pt p, pt__fit_pt q) {
  return (p.x - o.x) * (q.y - o.y) - (p.y - o.y) * (q.x - o.x);
}

static int by_x_then_y(const void *pa, const void *pb) {
  const pt__fit_pt *p = pa, *q = pb;
  if (p->x != q->x) {
    return p->x < q->x ? -1 : 1;
  }
  return (p->y > q->y) - (p->y < q->y);
}

/* sign 1: lower hull (pops right turns and straight lines), -1: upper. */
static size_t hull(pt__fit_pt *p, size_t n, double sign) {
  if (n == 0) {
    return 0;
  }
  qsort(p, n, sizeof *p, by_x_then_y);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m > 0 && p[i].x == p[m - 1].x) {
      /* Same x: only the lowest (lower hull) or highest (upper) matters. */
      if (sign > 0) {
        continue;
      }
      m--;
    }
    while (m >= 2 && sign * cross(p[m - 2], p[m - 1], p[i]) <= 0) {
      m--;
    }
    p[m++] = p[i];
  }
  return m;
}

size_t pt__fit_hull(pt__fit_pt *p, size_t n, int lower) {
  return hull(p, n, lower ? 1 : -1);
}

typedef struct chain {
  const pt__fit_pt *p;
  size_t n;
  double sign; /* 1: U (lower hull, min), -1: L (upper hull, max) */
} chain;

static double slope(const pt__fit_pt *p, size_t k) {
  return (p[k + 1].y - p[k].y) / (p[k + 1].x - p[k].x);
}

/*
 * U(b) or L(b).  U: the minimiser is the first hull point whose next edge
 * is at least as steep as b (slopes increase along the lower hull); L: the
 * first whose next edge is at most b (slopes decrease along the upper).
 */
static double chain_eval(const chain *c, double b) {
  size_t lo = 0, hi = c->n - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->sign * (slope(c->p, mid) - b) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return c->p[lo].y - b * c->p[lo].x;
}

static int by_double(const void *pa, const void *pb) {
  double x = *(const double *)pa, y = *(const double *)pb;
  return (x > y) - (x < y);
}

/* Where the linear g crosses 0 between (b0, g0) and (b1, g1). */
static double zero_between(double b0, double g0, double b1, double g1) {
  double t = g0 / (g0 - g1);
  return b0 + (b1 - b0) * t;
}

static void centroid(pt__fit *f) {
  /* Shoelace in (b in ppm, a) about the first vertex, for conditioning. */
  double area = 0, cb = 0, ca = 0;
  double a0 = f->v[0], b0 = f->v[1];
  for (size_t i = 0; i < f->nv; i++) {
    size_t j = (i + 1) % f->nv;
    double xi = (f->v[2 * i + 1] - b0) * 1e6, yi = f->v[2 * i] - a0;
    double xj = (f->v[2 * j + 1] - b0) * 1e6, yj = f->v[2 * j] - a0;
    double w = xi * yj - xj * yi;
    area += w;
    cb += (xi + xj) * w;
    ca += (yi + yj) * w;
  }
  if (area > 0 && isfinite(area) && isfinite(ca) && isfinite(cb)) {
    f->b = b0 + cb / (3 * area) * 1e-6;
    f->a = a0 + ca / (3 * area);
    return;
  }
  /* A segment or a point (bounds met exactly): the vertices' mean. */
  double sa = 0, sb = 0;
  for (size_t i = 0; i < f->nv; i++) {
    sa += f->v[2 * i];
    sb += f->v[2 * i + 1];
  }
  f->a = sa / (double)f->nv;
  f->b = sb / (double)f->nv;
}

static void set_max_db(pt__fit *f) {
  f->max_db = 0;
  for (size_t i = 0; i < f->nv; i++) {
    f->max_db = fmax(f->max_db, fabs(f->v[2 * i + 1] - f->b));
  }
}

int pt__fit_solve(pt__fit_pt *up, size_t nu, pt__fit_pt *lo, size_t nl,
                  double bmax, pt__fit *out) {
  out->v = NULL;
  out->nv = 0;
  chain u = {up, hull(up, nu, 1), 1};
  chain l = {lo, hull(lo, nl, -1), -1};
  /* Candidate b: the box's sides and every break of U and L inside. */
  size_t nc = 0, cap = u.n + l.n + 2;
  double *c = malloc(cap * 2 * sizeof *c);
  if (c == NULL) {
    return PT_ERR_NOMEM;
  }
  double *g = c + cap;
  c[nc++] = -bmax;
  c[nc++] = bmax;
  for (size_t k = 0; k + 1 < u.n; k++) {
    double s = slope(u.p, k);
    if (s > -bmax && s < bmax) {
      c[nc++] = s;
    }
  }
  for (size_t k = 0; k + 1 < l.n; k++) {
    double s = slope(l.p, k);
    if (s > -bmax && s < bmax) {
      c[nc++] = s;
    }
  }
  qsort(c, nc, sizeof *c, by_double);
  size_t first = nc, last = 0;
  for (size_t i = 0; i < nc; i++) {
    g[i] = chain_eval(&u, c[i]) - chain_eval(&l, c[i]);
    if (g[i] >= 0) {
      first = i < first ? i : first;
      last = i;
    }
  }
  if (first == nc) {
    /* g is linear between candidates, so its maximum is at one: < 0. */
    free(c);
    return 0;
  }
  double blo =
      first > 0 ? zero_between(c[first - 1], g[first - 1], c[first], g[first])
                : c[first];
  double bhi = last + 1 < nc
                   ? zero_between(c[last], g[last], c[last + 1], g[last + 1])
                   : c[last];
  /* The b of the vertices: blo, the candidates strictly inside, bhi. */
  size_t nb = 0;
  c[nb++] = blo;
  for (size_t i = first; i <= last; i++) {
    if (c[i] > blo && c[i] < bhi) {
      c[nb++] = c[i];
    }
  }
  if (bhi > blo) {
    c[nb++] = bhi;
  }
  out->v = malloc(nb * 4 * sizeof *out->v);
  if (out->v == NULL) {
    free(c);
    return PT_ERR_NOMEM;
  }
  /* Counter-clockwise in (b, a): along L with b rising, back along U. */
  for (size_t i = 0; i < nb; i++) {
    out->v[2 * i] = chain_eval(&l, c[i]);
    out->v[2 * i + 1] = c[i];
    out->v[2 * (2 * nb - 1 - i)] = chain_eval(&u, c[i]);
    out->v[2 * (2 * nb - 1 - i) + 1] = c[i];
  }
  out->nv = 2 * nb;
  free(c);
  centroid(out);
  set_max_db(out);
  return 1;
}

/* Is (a, b) in the polygon (on no edge's outer side)? */
static int inside(const pt__fit *f, double a, double b) {
  for (size_t i = 0; i < f->nv; i++) {
    size_t j = (i + 1) % f->nv;
    double eb = (f->v[2 * j + 1] - f->v[2 * i + 1]) * 1e6;
    double ea = f->v[2 * j] - f->v[2 * i];
    double qb = (b - f->v[2 * i + 1]) * 1e6, qa = a - f->v[2 * i];
    if (eb * qa - ea * qb < 0) {
      return 0;
    }
  }
  return 1;
}

double pt__fit_argmin(double (*fn)(void *ctx, double x), void *ctx, double lo,
                      double hi, double tol) {
  /* Ternary search: each step keeps the two thirds holding a minimum of a
   * convex fn.  110 steps shrink any double range below its precision. */
  for (int step = 0; step < 110 && hi - lo > tol; step++) {
    double m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
    if (fn(ctx, m1) <= fn(ctx, m2)) {
      hi = m2;
    } else {
      lo = m1;
    }
  }
  return lo + (hi - lo) / 2;
}

/* The least and greatest offset at x of the polygon's lines. */
static void range_at(const pt__fit *f, double x, double *lo, double *hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t i = 0; i < f->nv; i++) {
    double y = f->v[2 * i] + f->v[2 * i + 1] * x;
    *lo = fmin(*lo, y);
    *hi = fmax(*hi, y);
  }
}

/* Max minus min of linear functions: convex in x. */
static double width_at(void *ctx, double x) {
  double lo, hi;
  range_at(ctx, x, &lo, &hi);
  return hi - lo;
}

/* Lines through (x0, y0) with slope b: a = y0 - b * x0. */
typedef struct chord {
  const pt__fit *f;
  double x0, y0, x1, x2;
} chord;

/* max over the polygon of |its line - the line (a, b)| at x. */
static double dev_line(const pt__fit *f, double a, double b, double x) {
  double d = 0;
  for (size_t i = 0; i < f->nv; i++) {
    d = fmax(d, fabs((f->v[2 * i] - a) + (f->v[2 * i + 1] - b) * x));
  }
  return d;
}

/* The larger deviation at the span's ends of the chord's line of slope b:
 * a max of absolute values of functions linear in b, so convex. */
static double chord_dev(void *ctx, double b) {
  const chord *c = ctx;
  double a = c->y0 - b * c->x0;
  return fmax(dev_line(c->f, a, b, c->x1), dev_line(c->f, a, b, c->x2));
}

/*
 * The slopes b whose line through (x0, y0) lies in the polygon: each edge
 * i -> j keeps the points on its inner (left) side, a condition linear in
 * b along a = y0 - b * x0.  0 if none.
 */
static int chord_range(const chord *c, double *blo, double *bhi) {
  const pt__fit *f = c->f;
  *blo = -INFINITY;
  *bhi = INFINITY;
  for (size_t i = 0; i < f->nv; i++) {
    size_t j = (i + 1) % f->nv;
    double ai = f->v[2 * i], bi = f->v[2 * i + 1];
    double eb = f->v[2 * j + 1] - bi, ea = f->v[2 * j] - ai;
    /* eb * (a - ai) - ea * (b - bi) >= 0 with a = y0 - b * x0:
     * k * b + m >= 0. */
    double k = -eb * c->x0 - ea;
    double m = eb * (c->y0 - ai) + ea * bi;
    if (k > 0) {
      *blo = fmax(*blo, -m / k);
    } else if (k < 0) {
      *bhi = fmin(*bhi, -m / k);
    } else if (m < 0) {
      return 0;
    }
  }
  return *blo <= *bhi && isfinite(*blo) && isfinite(*bhi);
}

void pt__fit_centre(pt__fit *f, double x1, double x2) {
  if (!(x2 > x1)) {
    return;
  }
  chord c = {f, 0, 0, x1, x2};
  c.x0 = pt__fit_argmin(width_at, f, x1, x2, (x2 - x1) * 1e-9);
  double lo, hi;
  range_at(f, c.x0, &lo, &hi);
  c.y0 = (lo + hi) / 2;
  double blo, bhi;
  if (!chord_range(&c, &blo, &bhi)) {
    return;
  }
  double b = pt__fit_argmin(chord_dev, &c, blo, bhi, (bhi - blo) * 1e-9);
  double a = c.y0 - b * c.x0;
  if (isfinite(a) && isfinite(b) && inside(f, a, b)) {
    f->a = a;
    f->b = b;
    set_max_db(f);
  }
}

double pt__fit_dev(const pt__fit *f, double x) {
  return dev_line(f, f->a, f->b, x);
}

void pt__fit_free(pt__fit *f) {
  free(f->v);
  f->v = NULL;
  f->nv = 0;
}
