/*
 * pt_quic_qlog (internal view): what the adapter's recording (pt_quic.c)
 * asks of the qlog parser beyond its public functions (pt_quic.h).
 */
#ifndef PT_QUIC_QLOG_H
#define PT_QUIC_QLOG_H

#include <stddef.h>

/*
 * Whether the qlog record data[0..len) (untrusted, as for
 * pt_quic_qlog_parse) is an event record named `name` (e.g.
 * "recovery:metrics_updated"; compared byte for byte, no escapes).
 * Returns 1 if it is; 0 for a well-formed record with another name or none;
 * PT_ERR_PARSE for a malformed record or one longer than
 * PT_QUIC_QLOG_MAX_RECORD.  Reads no byte outside data[0..len).
 */
int pt__quic_qlog_named(const void *data, size_t len, const char *name);

#endif /* PT_QUIC_QLOG_H */
