/*
 * make_fuzz_seeds KIND DIR: writes the seed corpus of one fuzz target
 * into DIR (created if missing).  KIND: dump (valid dumps: empty, every
 * event kind, wrapped), log (log files: empty, with events, wrapped, with
 * events a dump cannot hold, with a writer that died), wire, traceparent, hex,
 * qlog, app (inputs of the targets of the same names) or cli (command lines,
 * NUL-separated, naming fuzz_cli.c's fixture files).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <peertrace/peertrace.h>

#include "fuzz_common.h"
#include "pt_region.h"

static const char *dir;

static int fail(const char *name, int rc) {
  fprintf(stderr, "make_fuzz_seeds: %s/%s: %s\n", dir, name, pt_strerror(rc));
  return 1;
}

static int write_seed(const char *name, const void *bytes, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "wb");
  if (fp == NULL || fwrite(bytes, 1, size, fp) != size || fclose(fp) != 0) {
    return fail(name, PT_ERR_IO);
  }
  return 0;
}

/* Byte-string seeds, one file each; SEED counts NULs inside the literal. */
typedef struct seed {
  const char *bytes;
  size_t n;
} seed;
#define SEED(literal)                                                          \
  { literal, sizeof literal - 1 }

static int write_seeds(const char *prefix, const seed *seeds, size_t count) {
  int rc = 0;
  for (size_t i = 0; i < count; i++) {
    char name[64];
    snprintf(name, sizeof name, "%s-%zu", prefix, i);
    rc |= write_seed(name, seeds[i].bytes, seeds[i].n);
  }
  return rc;
}

static void record_kinds(pt_log *log) {
  pt_trace_id id = {{0x11, 0x22, 0x33}};
  pt_fuzz_record_kinds(log, id, id, 0x11);
}

static void record_many(pt_log *log, unsigned n) {
  pt_trace_id id = {{0x44}};
  for (unsigned i = 0; i < n; i++) {
    PT_PACKET_SENT(log, id, 1000 + i, i);
  }
}

static int new_log(pt_log **log, const char *file) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file ? file : "");
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 16;
  memset(cfg.node_id, 0x5a, sizeof cfg.node_id);
  cfg.file_path = file ? path : NULL;
  cfg.file_flags = PT_LOG_FILE_REPLACE;
  int rc = pt_log_create(log, &cfg);
  return rc == PT_OK ? 0 : fail(file ? file : "log", rc);
}

static int save(pt_log *log, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int rc = pt_log_dump_save(log, path);
  return rc == PT_OK ? 0 : fail(name, rc);
}

static int dump_seeds(void) {
  pt_log *log;
  if (new_log(&log, NULL) != 0) {
    return 1;
  }
  int rc = save(log, "empty.ptd");
  record_kinds(log);
  rc |= save(log, "kinds.ptd");
  record_many(log, 40);
  rc |= save(log, "wrapped.ptd");
  pt_log_destroy(log);
  return rc;
}

/*
 * Damages a log file the way fuzz_log_open's findings did (pt_log_write
 * refuses such events, so only the file can hold them): slot 0 gets kind 0,
 * slot 1 a reserved byte, and slot 3 the sequence word of slot 2 (two
 * slots with one ticket).
 */
static int damage(const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "r+b");
  pt__region_header hdr;
  uint64_t seq;
  static const uint8_t zero_kind[2] = {0, 0}, one = 1;
  int ok = fp != NULL && fread(&hdr, sizeof hdr, 1, fp) == 1 &&
           fseek(fp, (long)(hdr.slots_offset + offsetof(pt_event, kind)),
                 SEEK_SET) == 0 &&
           fwrite(zero_kind, 2, 1, fp) == 1 &&
           fseek(fp,
                 (long)(hdr.slots_offset + sizeof(pt_event) +
                        offsetof(pt_event, reserved)),
                 SEEK_SET) == 0 &&
           fwrite(&one, 1, 1, fp) == 1 &&
           fseek(fp, (long)(hdr.seqs_offset + 2 * sizeof seq), SEEK_SET) == 0 &&
           fread(&seq, sizeof seq, 1, fp) == 1 &&
           fseek(fp, (long)(hdr.seqs_offset + 3 * sizeof seq), SEEK_SET) == 0 &&
           fwrite(&seq, sizeof seq, 1, fp) == 1;
  if (fp != NULL && fclose(fp) != 0) {
    ok = 0;
  }
  return ok ? 0 : fail(name, PT_ERR_IO);
}

static int log_seeds(void) {
  pt_log *log;
  int rc = new_log(&log, "empty.log");
  if (rc == 0) {
    pt_log_destroy(log);
  }
  if (rc == 0 && (rc = new_log(&log, "kinds.log")) == 0) {
    record_kinds(log);
    pt_log_destroy(log);
  }
  if (rc == 0 && (rc = new_log(&log, "wrapped.log")) == 0) {
    record_kinds(log);
    record_many(log, 40);
    pt_log_destroy(log);
  }
  if (rc == 0 && (rc = new_log(&log, "malformed.log")) == 0) {
    record_kinds(log);
    pt_log_destroy(log);
    rc = damage("malformed.log");
  }
  if (rc != 0) {
    return rc;
  }
  pid_t child = fork();
  if (child == 0) { /* a writer that dies with its log open */
    if (new_log(&log, "died.log") != 0) {
      _exit(1);
    }
    record_kinds(log);
    _exit(0);
  }
  int status;
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return fail("died.log", PT_ERR_IO);
  }
  return 0;
}

static const seed wire_seeds[] = {
    SEED("T\x01\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff\x01"
         "\x00"),
    SEED("T\x01\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff\x01"
         "\x07payload"),
    SEED("T\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
         "\x80"),
    SEED("T\x01short"),
};

static const seed traceparent_seeds[] = {
    SEED("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    SEED("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"),
    SEED("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"),
    SEED("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
    SEED("ff-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"),
};

static const seed hex_seeds[] = {
    SEED("4bf92f3577b34da6a3ce929d0e0e4736"),
    SEED("4BF92F3577B34DA6a3ce929d0e0e4736"),
    SEED("00000000000000000000000000000000"),
    SEED("4bf92f3577b34da6a3ce929d0e0e47"),
};

/* Records as ngtcp2 0.12.1 writes them (tests/test_quic_qlog.c). */
#define QLOG_SENT                                                              \
  "\x1e{\"time\":23,\"name\":\"transport:packet_sent\",\"data\":{\"frames\":[" \
  "{\"frame_type\":\"crypto\",\"offset\":0,\"length\":372},{\"frame_type\":"   \
  "\"padding\"}],\"header\":{\"packet_type\":\"initial\",\"packet_number\":"   \
  "0},\"raw\":{\"length\":1200}}}\n"
#define QLOG_RECEIVED                                                          \
  "\x1e{\"time\":0,\"name\":\"transport:packet_received\",\"data\":{"          \
  "\"frames\":[{\"frame_type\":\"ping\"},{\"frame_type\":\"padding\"}],"       \
  "\"header\":{\"packet_type\":\"1RTT\",\"packet_number\":17},\"raw\":{"       \
  "\"length\":1406}}}\n"
#define QLOG_LOST                                                              \
  "\x1e{\"time\":1000,\"name\":\"recovery:packet_lost\",\"data\":{\"header\":" \
  "{\"packet_type\":\"handshake\",\"packet_number\":3}}}\n"
#define QLOG_HEADER                                                            \
  "\x1e{\"qlog_format\":\"JSON-SEQ\",\"qlog_version\":\"0.3\",\"trace\":{"     \
  "\"vantage_point\":{\"name\":\"ngtcp2\",\"type\":\"client\"}}}\n"

/* A demo connection's header (its ODCID) and packets with STREAM frames. */
#define QLOG_HEADER_ODCID                                                      \
  "\x1e{\"qlog_format\":\"JSON-SEQ\",\"qlog_version\":\"0.3\",\"trace\":{"     \
  "\"vantage_point\":{\"name\":\"ngtcp2\",\"type\":\"server\"},\"common_"      \
  "fields\":{\"protocol_type\":[\"QUIC\"],\"time_format\":\"relative\","       \
  "\"reference_time\":0,\"group_id\":\"e52215773509a2ab7063dd6fc54b4b8a3ccc"   \
  "\"}}}\n"
#define QLOG_SENT_STREAM                                                       \
  "\x1e{\"time\":24,\"name\":\"transport:packet_sent\",\"data\":{\"frames\""   \
  ":[{\"frame_type\":\"ack\",\"ack_delay\":0,\"acked_ranges\":[[0,1]]},{"      \
  "\"frame_type\":\"stream\",\"stream_id\":0,\"offset\":0,\"length\":1361}"    \
  "],\"header\":{\"packet_type\":\"1RTT\",\"packet_number\":3},\"raw\":{"      \
  "\"length\":1406}}}\n"
#define QLOG_RECEIVED_FIN                                                      \
  "\x1e{\"time\":24,\"name\":\"transport:packet_received\",\"data\":{"         \
  "\"frames\":[{\"frame_type\":\"stream\",\"stream_id\":4,\"offset\":3476,"    \
  "\"length\":581,\"fin\":true}],\"header\":{\"packet_type\":\"1RTT\","        \
  "\"packet_number\":4},\"raw\":{\"length\":623}}}\n"

/* ngtcp2 0.12.1's metrics record after an RTT sample (the demo's). */
#define QLOG_METRICS                                                           \
  "\x1e{\"time\":26,\"name\":\"recovery:metrics_updated\",\"data\":{"          \
  "\"min_rtt\":2,\"smoothed_rtt\":2,\"latest_rtt\":2,\"rtt_variance\":1,"      \
  "\"pto_count\":0,\"congestion_window\":15720,\"bytes_in_flight\":0}}\n"

static const seed qlog_seeds[] = {
    SEED(QLOG_SENT),
    SEED(QLOG_RECEIVED),
    SEED(QLOG_LOST),
    SEED(QLOG_HEADER),
    SEED(QLOG_HEADER QLOG_SENT QLOG_RECEIVED QLOG_LOST),
    SEED(QLOG_HEADER_ODCID QLOG_SENT_STREAM QLOG_RECEIVED_FIN QLOG_LOST),
    SEED(QLOG_SENT_STREAM),
    SEED(QLOG_METRICS),
    SEED(QLOG_HEADER_ODCID QLOG_SENT_STREAM QLOG_METRICS),
    SEED("\x1e{\"time\":5,\"name\":\"recovery:metrics_updated\",\"data\":{"
         "\"min_rtt\":1,\"smoothed_rtt\":1,\"s\":\"a\\\"b\\u0041\",\"n\":null,"
         "\"t\":true,\"x\":-1.5e3}}\n"),
};

/* DMAP requests: cmd (u16 LE) | len | payload. */
#define HASH "0123456789abcdef0123456789abcdef"
static const seed app_seeds[] = {
    SEED("\x01\x00\x24" HASH "\x00\x00\x10\x00"
         "\x02\x00\x20" HASH "\x03\x00\x20" HASH "\x02\x00\x20" HASH),
    SEED("\x01\x00\x10short payload..."),
    SEED("\x09\x00\x03"
         "abc"
         "\x02\x00\x00"),
};

#define Z "\0"
static const seed cli_seeds[] = {
    SEED("show" Z "a.ptd"),
    SEED("show" Z "--color=always" Z "l.log" Z "d.log"),
    SEED("filter" Z "--trace" Z "1111" Z "--kind" Z "packet_sent" Z "a.ptd" Z
         "b.ptd"),
    SEED("filter" Z "--peer" Z "31" Z "--since" Z "+1ms" Z "--until" Z "5s" Z
         "a.ptd"),
    SEED("recent" Z "3" Z "a.ptd" Z "b.ptd"),
    SEED("recent" Z "-n" Z "2" Z "x.txt"),
    SEED("stats" Z "a.ptd" Z "b.ptd" Z "l.log"),
    SEED("merge" Z "--by-trace" Z "a.ptd" Z "b.ptd"),
    SEED("export" Z "json" Z "-o" Z "out.json" Z "a.ptd"),
    SEED("export" Z "qlog" Z "--split" Z "." Z "a.ptd" Z "b.ptd"),
    SEED("export" Z "chrome" Z "--trace" Z "1111" Z "a.ptd"),
    SEED("export" Z "otlp" Z "b.ptd"),
    SEED("export" Z "svg" Z "a.ptd" Z "b.ptd"),
    SEED("tail" Z "--from-start" Z "--interval" Z "1" Z "l.log"),
    SEED("show" Z "--help"),
    SEED("--help"),
};

#define SEED_SET(kind, prefix, seeds)                                          \
  { kind, prefix, seeds, sizeof seeds / sizeof seeds[0] }

/* The byte-string kinds: KIND, the files' name prefix, the seeds. */
static const struct {
  const char *kind, *prefix;
  const seed *seeds;
  size_t count;
} seed_sets[] = {
    SEED_SET("wire", "wire", wire_seeds),
    SEED_SET("traceparent", "tp", traceparent_seeds),
    SEED_SET("hex", "hex", hex_seeds),
    SEED_SET("qlog", "qlog", qlog_seeds),
    SEED_SET("app", "app", app_seeds),
    SEED_SET("cli", "cli", cli_seeds),
};

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: make_fuzz_seeds KIND DIR\n");
    return 2;
  }
  const char *kind = argv[1];
  dir = argv[2];
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    return fail("", PT_ERR_IO);
  }
  if (strcmp(kind, "dump") == 0) {
    return dump_seeds();
  }
  if (strcmp(kind, "log") == 0) {
    return log_seeds();
  }
  for (size_t i = 0; i < sizeof seed_sets / sizeof seed_sets[0]; i++) {
    if (strcmp(kind, seed_sets[i].kind) == 0) {
      return write_seeds(seed_sets[i].prefix, seed_sets[i].seeds,
                         seed_sets[i].count);
    }
  }
  fprintf(stderr, "make_fuzz_seeds: unknown kind %s\n", kind);
  return 2;
}
