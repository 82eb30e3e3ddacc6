/*
 * pt_align_delays (pt_align.h): the pairs and unreceived packets of a solved
 * aligner counted per direction, with the median and 95th percentile of the
 * one-way delays.  Built on pt_align_pairs and pt_align_unreceived alone.
 */
#include <peertrace/pt_align.h>

#include "pt_common.h"
#include "pt_grow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One direction being counted: its result, and its finite delays. */
typedef struct pt__delay_dir {
  pt_link_delays out;
  double *us;
  size_t n, cap;
} pt__delay_dir;

typedef struct pt__delay_dirs {
  pt__delay_dir *v;
  size_t n, cap;
  int unreceived; /* walking pt_align_unreceived */
} pt__delay_dirs;

static pt__delay_dir *pt__delay_dir_of(pt__delay_dirs *ds, unsigned sender,
                                       unsigned receiver) {
  for (size_t i = 0; i < ds->n; i++) {
    if (ds->v[i].out.sender == sender && ds->v[i].out.receiver == receiver) {
      return &ds->v[i];
    }
  }
  pt__delay_dir *d =
      pt__grow((void **)&ds->v, &ds->n, &ds->cap, sizeof *ds->v, 1);
  if (d != NULL) {
    memset(d, 0, sizeof *d);
    d->out.sender = sender;
    d->out.receiver = receiver;
  }
  return d;
}

static int pt__delay_count(const pt_packet_pair *p, void *user) {
  pt__delay_dirs *ds = user;
  pt__delay_dir *d = pt__delay_dir_of(ds, p->sender, p->receiver);
  if (d == NULL) {
    return PT_ERR_NOMEM;
  }
  if (ds->unreceived) {
    d->out.unreceived++;
    d->out.unreceived_lost += p->lost;
    return PT_OK;
  }
  d->out.pairs++;
  if (isfinite(p->delay_us)) {
    double *us = pt__grow((void **)&d->us, &d->n, &d->cap, sizeof *us, 1);
    if (us == NULL) {
      return PT_ERR_NOMEM;
    }
    *us = p->delay_us;
  }
  return PT_OK;
}

static int pt__delay_cmp(const void *pa, const void *pb) {
  double x = *(const double *)pa, y = *(const double *)pb;
  return (x > y) - (x < y);
}

static int pt__delay_dir_cmp(const void *pa, const void *pb) {
  const pt_link_delays *p = pa, *q = pb;
  PT__CMP(p->sender, q->sender);
  PT__CMP(p->receiver, q->receiver);
  return 0;
}

/* The q-quantile (nearest rank) of sorted x[0..n), n > 0. */
static double pt__delay_quantile(const double *x, size_t n, double q) {
  size_t k = (size_t)ceil(q * (double)n);
  return x[k > 0 ? k - 1 : 0];
}

int pt_align_delays(const pt_align *a, pt_link_delays **out, size_t *count) {
  if (out == NULL || count == NULL) {
    return PT_ERR_INVALID;
  }
  *out = NULL;
  *count = 0;
  pt__delay_dirs ds = {NULL, 0, 0, 0};
  int rc = pt_align_pairs(a, pt__delay_count, &ds);
  if (rc == PT_OK) {
    ds.unreceived = 1;
    rc = pt_align_unreceived(a, pt__delay_count, &ds);
  }
  pt_link_delays *links = NULL;
  if (rc == PT_OK && ds.n > 0) {
    links = malloc(ds.n * sizeof *links);
    rc = links != NULL ? PT_OK : PT_ERR_NOMEM;
  }
  for (size_t i = 0; i < ds.n; i++) {
    pt__delay_dir *d = &ds.v[i];
    if (links != NULL) {
      d->out.delays = d->n;
      d->out.p50_us = d->out.p95_us = NAN;
      if (d->n > 0) {
        qsort(d->us, d->n, sizeof *d->us, pt__delay_cmp);
        d->out.p50_us = pt__delay_quantile(d->us, d->n, 0.5);
        d->out.p95_us = pt__delay_quantile(d->us, d->n, 0.95);
      }
      links[i] = d->out;
    }
    free(d->us);
  }
  free(ds.v);
  if (links != NULL) {
    qsort(links, ds.n, sizeof *links, pt__delay_dir_cmp);
    *out = links;
    *count = ds.n;
  }
  return rc;
}
