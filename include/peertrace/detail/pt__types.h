/* Internal to peertrace: users never include this file (pt_core.h does). */
/*
 * Generator machinery, part 1: the C types of the event table's field tags
 * and the structs generated from the table.  Included by pt_core.h at the
 * point where pt_endpoint is defined and before pt_event, whose payload
 * union is made of these structs.
 */
#ifndef PEERTRACE_DETAIL_PT__TYPES_H
#define PEERTRACE_DETAIL_PT__TYPES_H

#include <stdint.h>

#include <peertrace/pt_events.h>

/* Field type tags of the event table, as C types. */
#define PT__CTYPE_U8 uint8_t
#define PT__CTYPE_U16 uint16_t
#define PT__CTYPE_U32 uint32_t
#define PT__CTYPE_U64 uint64_t
#define PT__CTYPE_BOOL uint8_t
#define PT__CTYPE_ENDPOINT pt_endpoint
#define PT__CTYPE_APPID uint8_t
#define PT__CTYPE_BYTES42 uint8_t
#define PT__CTYPE_BYTES44 uint8_t
#define PT__CTYPE_CONN uint64_t
#define PT__CTYPE_BOOL_X uint8_t
#define PT__CDIM_U8
#define PT__CDIM_U16
#define PT__CDIM_U32
#define PT__CDIM_U64
#define PT__CDIM_BOOL
#define PT__CDIM_ENDPOINT
#define PT__CDIM_APPID [4]
#define PT__CDIM_BYTES42 [42]
#define PT__CDIM_BYTES44 [44]
#define PT__CDIM_CONN
#define PT__CDIM_BOOL_X

/* Payload structs: struct pt_<name>_data, e.g. struct pt_packet_sent_data. */
#define PT__FIELD_DECL(tag, name) PT__CTYPE_##tag name PT__CDIM_##tag;
#define PT__PAYLOAD_STRUCT(KIND, id, name, desc)                               \
  struct pt_##name##_data {                                                    \
    PT__FIELDS_##name(PT__FIELD_DECL)                                          \
  };
PT_EVENT_TABLE(PT__PAYLOAD_STRUCT)
#undef PT__PAYLOAD_STRUCT

/*
 * struct pt__<name>_args: the leading fields of a payload that the setters
 * and PT_EMIT take (all but CONN and BOOL_X, which come last); its size
 * decides whether PT_EMIT may use the two-word write.
 */
#define PT__ARG_FIELD(tag, name) PT__ARG_FIELD_##tag(tag, name)
#define PT__ARG_FIELD_U8(tag, name) PT__FIELD_DECL(tag, name)
#define PT__ARG_FIELD_U16(tag, name) PT__FIELD_DECL(tag, name)
#define PT__ARG_FIELD_U32(tag, name) PT__FIELD_DECL(tag, name)
#define PT__ARG_FIELD_U64(tag, name) PT__FIELD_DECL(tag, name)
#define PT__ARG_FIELD_BOOL(tag, name) PT__FIELD_DECL(tag, name)
#define PT__ARG_FIELD_ENDPOINT(tag, name) PT__FIELD_DECL(tag, name)
#define PT__ARG_FIELD_APPID(tag, name) PT__FIELD_DECL(tag, name)
#define PT__ARG_FIELD_BYTES42(tag, name) PT__FIELD_DECL(tag, name)
#define PT__ARG_FIELD_BYTES44(tag, name) PT__FIELD_DECL(tag, name)
#define PT__ARG_FIELD_CONN(tag, name)
#define PT__ARG_FIELD_BOOL_X(tag, name)
#define PT__ARGS_STRUCT(KIND, id, name, desc)                                  \
  struct pt__##name##_args {                                                   \
    PT__FIELDS_##name(PT__ARG_FIELD)                                           \
  };
PT_EVENT_TABLE(PT__ARGS_STRUCT)
#undef PT__ARGS_STRUCT

#endif /* PEERTRACE_DETAIL_PT__TYPES_H */
