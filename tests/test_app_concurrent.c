/*
 * Concurrency tests of the app registry, meant for ThreadSanitizer (the
 * tsan preset) as much as for their assertions: registrations and
 * unregistrations racing with lookups and logging, and duplicate
 * registrations racing with each other.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <peertrace/peertrace.h>

#define POOL 4
#define RACERS 2 /* one per core of the test machine */

static void pool_to_data(const pt_app_protocol *app, uint16_t cmd,
                         pt_app_payload payload,
                         uint8_t out[PT_APP_DATA_SIZE]) {
  /* The id of the descriptor that produced the data: a logger checks that
   * the data came from the app it asked for. */
  memcpy(out, app->app_id, PT_APP_ID_SIZE);
  out[4] = (uint8_t)cmd;
  pt_app_copy(out, 5, payload, 0, 8);
}

static const char *pool_describe(const pt_app_protocol *app, uint16_t cmd) {
  (void)app;
  (void)cmd;
  return "POOL_CMD";
}

/* Static storage: valid for the whole run (the registry's lifetime rule). */
static pt_app_protocol pool[POOL];
static pt_app_protocol racers[RACERS]; /* all with the id "RACE" */

typedef struct shared shared;
struct shared {
  pt_app_registry *registry;
  pt_log *log;
  atomic_int stop;
  atomic_ulong registered;
  atomic_ulong lookups_hit;
  atomic_ulong bad;
  pthread_barrier_t barrier;
  atomic_int winners;
  atomic_uint start_gate;
};

#define REGISTRATIONS 3000

/* Descriptors filled by the registrar threads themselves, each used once and
 * never changed after registration: a logger that finds one must see the
 * fields written before pt_app_register (the release / acquire pair of the
 * registry; ThreadSanitizer reports a race if it is missing). */
static pt_app_protocol fresh[2][REGISTRATIONS];

typedef struct registrar_arg {
  struct shared *s;
  unsigned index;
} registrar_arg;

static void *registrar(void *arg) {
  registrar_arg *a = arg;
  shared *s = a->s;
  for (unsigned i = 0; i < REGISTRATIONS; i++) {
    pt_app_protocol *app = &fresh[a->index][i];
    *app = pool[i % POOL];
    int rv = pt_app_register(s->registry, app);
    if (rv == PT_OK) {
      atomic_fetch_add(&s->registered, 1);
    } else if (rv != PT_ERR_EXISTS) {
      atomic_fetch_add(&s->bad, 1);
    }
    rv = pt_app_unregister(s->registry, pool[(i + 1) % POOL].app_id);
    if (rv != PT_OK && rv != PT_ERR_NOT_FOUND) {
      atomic_fetch_add(&s->bad, 1);
    }
  }
  return NULL;
}

static void *logger(void *arg) {
  shared *s = arg;
  uint8_t payload[16];
  memset(payload, 0x33, sizeof payload);
  for (unsigned i = 0; i < 20000; i++) {
    const pt_app_protocol *want = &pool[i % POOL];
    const pt_app_protocol *got = pt_app_lookup(s->registry, want->app_id);
    if (got != NULL) {
      atomic_fetch_add(&s->lookups_hit, 1);
      if (memcmp(got->app_id, want->app_id, PT_APP_ID_SIZE) != 0 ||
          got->to_trace_data != pool_to_data) {
        atomic_fetch_add(&s->bad, 1);
      }
    }
    const char *name = pt_app_describe(s->registry, want->app_id, 1);
    if (strcmp(name, "POOL_CMD") != 0 && strcmp(name, "UNKNOWN") != 0) {
      atomic_fetch_add(&s->bad, 1);
    }
    PT_APP_COMMAND(s->log, s->registry, pt_trace_id_new(), want->app_id,
                   (uint16_t)i, payload, i % sizeof payload);
  }
  return NULL;
}

static void test_register_unregister_while_logging(void **state) {
  (void)state;
  for (unsigned i = 0; i < POOL; i++) {
    memcpy(pool[i].app_id, "POL0", 4);
    pool[i].app_id[3] = (uint8_t)('0' + i);
    pool[i].to_trace_data = pool_to_data;
    pool[i].describe_command = pool_describe;
    pool[i].should_trace = NULL;
  }
  shared s;
  memset(&s, 0, sizeof s);
  assert_int_equal(pt_app_registry_create(&s.registry), PT_OK);
  pt_log_config cfg;
  pt_log_config_init(&cfg);
  cfg.capacity = 4096;
  assert_int_equal(pt_log_create(&s.log, &cfg), PT_OK);

  pthread_t threads[4];
  registrar_arg args[2] = {{&s, 0}, {&s, 1}};
  assert_int_equal(pthread_create(&threads[0], NULL, registrar, &args[0]), 0);
  assert_int_equal(pthread_create(&threads[1], NULL, registrar, &args[1]), 0);
  assert_int_equal(pthread_create(&threads[2], NULL, logger, &s), 0);
  assert_int_equal(pthread_create(&threads[3], NULL, logger, &s), 0);
  for (unsigned i = 0; i < 4; i++) {
    assert_int_equal(pthread_join(threads[i], NULL), 0);
  }
  assert_int_equal(atomic_load(&s.bad), 0);
  assert_true(atomic_load(&s.registered) > 0);

  /* Every recorded event's data names the app of its own app id: no
   * logger ever used one app's descriptor for another id. */
  pt_event *events = NULL;
  size_t count = 0;
  assert_int_equal(pt_log_recent(s.log, 4096, &events, &count), PT_OK);
  assert_true(count > 0);
  pt_app_registry_stats stats;
  assert_int_equal(pt_app_registry_get_stats(s.registry, &stats), PT_OK);
  size_t with_data = 0;
  for (size_t i = 0; i < count; i++) {
    const struct pt_app_command_data *d = &events[i].data.app_command;
    static const uint8_t zero[4];
    if (memcmp(d->data, zero, 4) != 0) {
      assert_memory_equal(d->data, d->app_id, 4);
      assert_int_equal(d->data[4], (uint8_t)d->cmd);
      with_data++;
    }
  }
  pt_events_free(events);
  assert_true(stats.unknown_app + with_data >= count);

  for (unsigned i = 0; i < POOL; i++) {
    int rv = pt_app_unregister(s.registry, pool[i].app_id);
    assert_true(rv == PT_OK || rv == PT_ERR_NOT_FOUND);
  }
  assert_int_equal(pt_app_registry_get_stats(s.registry, &stats), PT_OK);
  assert_int_equal(stats.registered, 0);
  pt_log_destroy(s.log);
  pt_app_registry_destroy(s.registry);
}

typedef struct racer_arg {
  shared *s;
  unsigned index;
} racer_arg;

#define ROUNDS 2000

/* Spins until every racer has arrived at `gate` for the given round: all
 * racers then leave within a few nanoseconds of each other, far closer than
 * a pthread barrier's wake-ups, so their registrations really overlap. */
static void spin_gate(atomic_uint *gate, unsigned round) {
  atomic_fetch_add(gate, 1);
  for (unsigned spins = 1; atomic_load(gate) < (round + 1) * RACERS; spins++) {
    if (spins % 4096 == 0) {
      sched_yield(); /* a busy machine: let the other racer run */
    }
  }
}

static void *racer(void *arg) {
  racer_arg *a = arg;
  for (unsigned round = 0; round < ROUNDS; round++) {
    spin_gate(&a->s->start_gate, round);
    if (pt_app_register(a->s->registry, &racers[a->index]) == PT_OK) {
      atomic_fetch_add(&a->s->winners, 1);
    }
    pthread_barrier_wait(&a->s->barrier);
    if (a->index == 0) {
      /* One check and reset per round, between the two barriers. */
      if (atomic_load(&a->s->winners) != 1) {
        atomic_fetch_add(&a->s->bad, 1);
      }
      atomic_store(&a->s->winners, 0);
      pt_app_unregister(a->s->registry, "RACE");
    }
    pthread_barrier_wait(&a->s->barrier);
  }
  return NULL;
}

static void test_duplicate_registration_race(void **state) {
  (void)state;
  for (unsigned i = 0; i < RACERS; i++) {
    memcpy(racers[i].app_id, "RACE", 4);
    racers[i].to_trace_data = pool_to_data;
    racers[i].describe_command = pool_describe;
  }
  shared s;
  memset(&s, 0, sizeof s);
  assert_int_equal(pt_app_registry_create(&s.registry), PT_OK);
  assert_int_equal(pthread_barrier_init(&s.barrier, NULL, RACERS), 0);
  pthread_t threads[RACERS];
  racer_arg args[RACERS];
  for (unsigned i = 0; i < RACERS; i++) {
    args[i].s = &s;
    args[i].index = i;
    assert_int_equal(pthread_create(&threads[i], NULL, racer, &args[i]), 0);
  }
  for (unsigned i = 0; i < RACERS; i++) {
    assert_int_equal(pthread_join(threads[i], NULL), 0);
  }
  /* Exactly one winner in every round. */
  assert_int_equal(atomic_load(&s.bad), 0);
  pthread_barrier_destroy(&s.barrier);
  pt_app_registry_destroy(s.registry);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_register_unregister_while_logging),
      cmocka_unit_test(test_duplicate_registration_race),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
