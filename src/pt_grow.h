/* pt__grow: the growing arrays of the read side, and the array of a hop's
 * packets that the SVG export and `peertrace hops` draw (both defined in
 * pt_request.c). */
#ifndef PT_GROW_H
#define PT_GROW_H

#include <stddef.h>

#include <peertrace/pt_request.h>

/*
 * Makes room for `count` more elements of `size` bytes in *v (holding *n of
 * *cap), doubling the capacity as needed, and counts them in *n.  Returns
 * the first new element (uninitialised), or NULL without memory (then
 * nothing changed).
 */
void *pt__grow(void **v, size_t *n, size_t *cap, size_t size, size_t count);

/*
 * A hop's packets in an array: pass pt__packet_list_add and a zeroed list to
 * pt_request_packets, which gives them in order; free(v) afterwards.
 * pt__packet_list_add returns 0 or PT_ERR_NOMEM (the list unchanged).
 */
typedef struct pt__packet_list {
  pt_request_packet *v;
  size_t n, cap;
} pt__packet_list;

int pt__packet_list_add(const pt_request_packet *p, void *list);

/* A packet with nothing to say: delivered once, not a loss or a repeat
 * (runs of them are drawn as one). */
static inline int pt__packet_plain(const pt_request_packet *p) {
  return !p->lost && !p->retransmits && p->received_us != 0;
}

#endif /* PT_GROW_H */
