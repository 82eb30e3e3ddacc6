/*
 * demo_linkem: the link emulator of the namespace demo (demo_netns.h), for
 * kernels without sch_netem.  Reads each IPv4 packet the hub routes into
 * the TUN device, drops it with its link's loss or holds it for the link's
 * delay plus a uniform jitter (so, as with netem's jitter, packets of one
 * link may be reordered), then writes it back for the hub to route on.
 */
#define _GNU_SOURCE

#include "demo_netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 4096
#define MAX_PACKET 2048

typedef struct held {
  uint64_t due_ns;
  uint64_t seq; /* arrival order: equal due times leave in it */
  uint16_t len;
  uint8_t data[MAX_PACKET];
} held;

static volatile sig_atomic_t g_stop;

static void on_term(int sig) {
  (void)sig;
  g_stop = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Unix time: the emulator runs on the true clock (no libfaketime). */
static uint64_t real_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t next_random(uint64_t *s) {
  /* xorshift64*: a seeded stream, enough for loss draws and jitter. */
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545f4914f6cdd1du;
}

static double unit(uint64_t *s) {
  return (double)(next_random(s) >> 11) / 9007199254740992.0;
}

static int earlier(const held *a, const held *b) {
  return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

/* A binary min-heap of pointers into the slots, by (due, seq). */
static void heap_push(held **heap, size_t *n, held *h) {
  size_t i = (*n)++;
  heap[i] = h;
  while (i > 0 && earlier(heap[i], heap[(i - 1) / 2])) {
    held *t = heap[i];
    heap[i] = heap[(i - 1) / 2];
    heap[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
}

static held *heap_pop(held **heap, size_t *n) {
  held *top = heap[0];
  heap[0] = heap[--*n];
  for (size_t i = 0;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    m = l < *n && earlier(heap[l], heap[m]) ? l : m;
    m = r < *n && earlier(heap[r], heap[m]) ? r : m;
    if (m == i) {
      break;
    }
    held *t = heap[i];
    heap[i] = heap[m];
    heap[m] = t;
    i = m;
  }
  return top;
}

/* Node index of an address of ours, or SIZE_MAX. */
static size_t node_of(const uint8_t *ip, size_t nodes) {
  uint32_t a = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 |
               (uint32_t)ip[2] << 8 | ip[3];
  return a >= DEMO_NETNS_ADDR_BASE && a - DEMO_NETNS_ADDR_BASE < nodes
             ? a - DEMO_NETNS_ADDR_BASE
             : SIZE_MAX;
}

static int open_tun(const char *name) {
  struct ifreq ifr;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int demo_linkem_run(const demo_netns *ns, const char *tun, uint64_t seed,
                    int ready_fd) {
  static held slots[MAX_HELD];
  static held *heap[MAX_HELD];
  static held *free_list[MAX_HELD];
  size_t held_count = 0, free_count = MAX_HELD;
  uint64_t rng = seed | 1, seq = 0;
  signal(SIGINT, SIG_DFL); /* the launcher's handlers are not ours */
  signal(SIGHUP, SIG_DFL);
  signal(SIGTERM, on_term);
  /* Timers of a few ms: no need for the default 50 us of slack. */
  (void)prctl(PR_SET_TIMERSLACK, 1000UL);
  for (size_t i = 0; i < MAX_HELD; i++) {
    free_list[i] = &slots[i];
  }
  int fd = open_tun(tun);
  if (fd < 0) {
    perror("demo: link emulator: tun");
    return -1;
  }
  if (write(ready_fd, "r", 1) != 1) {
    return -1;
  }
  close(ready_fd);
  while (!g_stop) {
    struct pollfd pfd = {fd, POLLIN, 0};
    struct timespec wait = {1, 0}, *tp = &wait;
    uint64_t t = now_ns();
    if (held_count > 0) {
      uint64_t due = heap[0]->due_ns;
      uint64_t d = due > t ? due - t : 0;
      wait.tv_sec = (time_t)(d / 1000000000u);
      wait.tv_nsec = (long)(d % 1000000000u);
    }
    if (ppoll(&pfd, 1, tp, NULL) < 0 && errno != EINTR) {
      perror("demo: link emulator: poll");
      return -1;
    }
    for (;;) {
      if (free_count == 0) {
        break; /* full: read again once some have left */
      }
      held *h = free_list[free_count - 1];
      ssize_t n = read(fd, h->data, sizeof h->data);
      if (n <= 0) {
        break;
      }
      size_t from = SIZE_MAX, to = SIZE_MAX;
      int udp = n >= 20 && h->data[9] == 17; /* IPv4 protocol: UDP */
      if (n >= 20 && (h->data[0] >> 4) == 4) {
        from = node_of(h->data + 12, ns->nodes);
        to = node_of(h->data + 16, ns->nodes);
      }
      h->due_ns = now_ns();
      h->seq = seq++;
      h->len = (uint16_t)n;
      if (from != SIZE_MAX && to != SIZE_MAX && from != to) {
        const demo_link *l = &ns->links[from][to];
        demo_link_stats *st = &ns->stats[from * DEMO_NETNS_MAX + to];
        st->packets += (uint64_t)udp;
        if (unit(&rng) < l->loss) {
          if (udp && st->dropped < DEMO_NETNS_DROPS) {
            st->drop_us[st->dropped] = real_us();
          }
          st->dropped += (uint64_t)udp;
          continue; /* the slot stays free */
        }
        double ms = l->delay_ms + l->jitter_ms * (2 * unit(&rng) - 1);
        h->due_ns += ms > 0 ? (uint64_t)(ms * 1e6) : 0;
      }
      free_count--;
      heap_push(heap, &held_count, h);
    }
    t = now_ns();
    while (held_count > 0 && heap[0]->due_ns <= t) {
      held *h = heap_pop(heap, &held_count);
      /* A full device queue drops the packet, as a full link would. */
      (void)!write(fd, h->data, h->len);
      free_list[free_count++] = h;
    }
  }
  close(fd);
  return 0;
}
