/* pt__grow: the growing arrays of the read side (defined in pt_request.c). */
#ifndef PT_GROW_H
#define PT_GROW_H

#include <stddef.h>

/*
 * Makes room for `count` more elements of `size` bytes in *v (holding *n of
 * *cap), doubling the capacity as needed, and counts them in *n.  Returns
 * the first new element (uninitialised), or NULL without memory (then
 * nothing changed).
 */
void *pt__grow(void **v, size_t *n, size_t *cap, size_t size, size_t count);

#endif /* PT_GROW_H */
