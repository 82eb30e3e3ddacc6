/* demo_netns: network namespaces, links and their clean-up (demo_netns.h). */
#define _GNU_SOURCE

#include "demo_netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define NETNS_DIR "/run/netns"
#define TUN_NAME "pttun"
#define EMU_TABLE "100"

/* What the exit and signal paths remove: fixed-size, so that the signal
 * handler only reads memory and makes async-signal-safe calls. */
static char g_paths[DEMO_NETNS_MAX + 1][64];
static size_t g_path_count;
static pid_t g_pids[DEMO_NETNS_MAX + 1];
static size_t g_pid_count;
static demo_netns *g_ns;

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *s, double lo, double hi) {
  return lo + (hi - lo) * (double)(splitmix(s) >> 11) / 9007199254740992.0;
}

void demo_netns_links(uint64_t seed, size_t nodes, demo_netns *ns) {
  uint64_t s = seed * 0x2545f4914f6cdd1du + 14;
  memset(ns, 0, sizeof *ns);
  ns->nodes = nodes;
  for (size_t a = 0; a < nodes; a++) {
    for (size_t b = a + 1; b < nodes; b++) {
      double delay = (double)(int)uniform(&s, 2, 31);
      double jitter = (double)(int)(delay * uniform(&s, 0.05, 0.15) * 10) / 10;
      for (int dir = 0; dir < 2; dir++) {
        demo_link *l = dir ? &ns->links[b][a] : &ns->links[a][b];
        l->delay_ms = delay;
        l->jitter_ms = jitter;
        l->loss = (double)(int)uniform(&s, 10, 41) / 1000.0;
      }
    }
  }
}

/* Runs a command given as one line of space-separated words (no quoting
 * needed for ours).  quiet: its stderr goes to /dev/null.  Returns its exit
 * status, or -1 if it could not run. */
static int run(int quiet, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int run(int quiet, const char *fmt, ...) {
  char line[512];
  char *argv[64];
  size_t argc = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  for (char *tok = strtok(line, " "); tok != NULL && argc < 63;
       tok = strtok(NULL, " ")) {
    argv[argc++] = tok;
  }
  argv[argc] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (quiet) {
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return -1;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Removes a named namespace as `ip netns del` does (detach the bind mount,
 * unlink the file); async-signal-safe. */
static void remove_path(const char *path) {
  umount2(path, MNT_DETACH);
  unlink(path);
}

/* Whatever an earlier run left: every DEMO_NETNS_PREFIX namespace. */
static void remove_stale(void) {
  DIR *d = opendir(NETNS_DIR);
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, DEMO_NETNS_PREFIX, strlen(DEMO_NETNS_PREFIX)) == 0) {
      char path[320];
      snprintf(path, sizeof path, NETNS_DIR "/%s", e->d_name);
      remove_path(path);
    }
  }
  if (d != NULL) {
    closedir(d);
  }
}

/* Kills and reaps the children (a namespace goes once no process is in
 * it; reaped, they leave no zombie either). */
static void kill_all(void) {
  for (size_t i = 0; i < g_pid_count; i++) {
    if (g_pids[i] > 0) {
      kill(g_pids[i], SIGKILL);
    }
  }
  for (size_t i = 0; i < g_pid_count; i++) {
    if (g_pids[i] > 0) {
      waitpid(g_pids[i], NULL, 0);
      g_pids[i] = 0;
    }
  }
}

static void remove_all(void) {
  for (size_t i = 0; i < g_path_count; i++) {
    remove_path(g_paths[i]);
  }
  g_path_count = 0;
}

static void on_signal(int sig) {
  /* Ctrl-C reaches the nodes too; a kill of the launcher alone does not. */
  kill_all();
  remove_all();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void at_exit(void) {
  if (g_ns != NULL) {
    demo_netns_teardown(g_ns);
  }
}

void demo_netns_track(pid_t pid) {
  if (g_pid_count < DEMO_NETNS_MAX + 1) {
    g_pids[g_pid_count++] = pid;
  }
}

static int add_ns(const char *name) {
  if (run(0, "ip netns add %s", name) != 0) {
    return -1;
  }
  snprintf(g_paths[g_path_count++], sizeof g_paths[0], NETNS_DIR "/%s", name);
  return run(0, "ip -n %s link set lo up", name);
}

/* Writes a sysctl of the hub: /proc/sys/net belongs to the namespace of the
 * process that opens it, so the launcher steps into the hub and back. */
static int hub_sysctls(void) {
  static const char *const keys[] = {"ipv4/ip_forward",
                                     "ipv4/conf/all/rp_filter",
                                     "ipv4/conf/default/rp_filter"};
  static const char *const values[] = {"1", "0", "0"};
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int hub = open(NETNS_DIR "/" DEMO_NETNS_HUB, O_RDONLY | O_CLOEXEC);
  int rc = self >= 0 && hub >= 0 && setns(hub, CLONE_NEWNET) == 0 ? 0 : -1;
  for (size_t k = 0; rc == 0 && k < sizeof keys / sizeof keys[0]; k++) {
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/net/%s", keys[k]);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, values[k], 1) != 1) {
      rc = -1;
    }
    if (fd >= 0) {
      close(fd);
    }
  }
  if (self >= 0 && setns(self, CLONE_NEWNET) != 0) {
    rc = -1;
  }
  if (self >= 0) {
    close(self);
  }
  if (hub >= 0) {
    close(hub);
  }
  return rc;
}

static int add_node(size_t i) {
  char name[32];
  unsigned host = (unsigned)(DEMO_NETNS_ADDR_BASE & 0xff) + (unsigned)i;
  snprintf(name, sizeof name, DEMO_NETNS_PREFIX "n%zu", i);
  if (add_ns(name) != 0 ||
      run(0,
          "ip -n " DEMO_NETNS_HUB " link add h%zu type veth peer name eth0 "
          "netns %s",
          i, name) != 0 ||
      run(0, "ip -n " DEMO_NETNS_HUB " addr add 10.77.0.254/32 dev h%zu", i) ||
      run(0, "ip -n " DEMO_NETNS_HUB " link set h%zu up", i) ||
      run(0, "ip -n %s addr add 10.77.0.%u/32 dev eth0", name, host) ||
      run(0, "ip -n %s link set eth0 up", name) ||
      run(0, "ip -n " DEMO_NETNS_HUB " route add 10.77.0.%u/32 dev h%zu", host,
          i) ||
      run(0, "ip -n %s route add 10.77.0.254/32 dev eth0", name) ||
      run(0,
          "ip -n %s route add 10.77.0.0/24 via 10.77.0.254 dev eth0 src "
          "10.77.0.%u",
          name, host)) {
    return -1;
  }
  return 0;
}

/* netem on h<b>: one htb class per source node a, its netem qdisc, a u32
 * filter on a's address; anything else (ARP) in the default class. */
static int shape_netem(const demo_netns *ns, size_t b) {
  if (run(0,
          "tc -n " DEMO_NETNS_HUB " qdisc add dev h%zu root handle 1: htb "
          "default 99",
          b) ||
      run(0,
          "tc -n " DEMO_NETNS_HUB " class add dev h%zu parent 1: classid "
          "1:99 htb rate 10gbit quantum 1514",
          b)) {
    return -1;
  }
  for (size_t a = 0; a < ns->nodes; a++) {
    const demo_link *l = &ns->links[a][b];
    if (a == b) {
      continue;
    }
    if (run(0,
            "tc -n " DEMO_NETNS_HUB " class add dev h%zu parent 1: "
            "classid 1:%zu htb rate 10gbit quantum 1514",
            b, a + 1) ||
        run(0,
            "tc -n " DEMO_NETNS_HUB " qdisc add dev h%zu parent 1:%zu "
            "handle %zu: netem delay %.1fms %.1fms loss %.1f%%",
            b, a + 1, a + 10, l->delay_ms, l->jitter_ms, l->loss * 100) ||
        run(0,
            "tc -n " DEMO_NETNS_HUB " filter add dev h%zu parent 1: "
            "protocol ip prio 1 u32 match ip src 10.77.0.%u/32 flowid "
            "1:%zu",
            b, (unsigned)(DEMO_NETNS_ADDR_BASE & 0xff) + (unsigned)a, a + 1)) {
      return -1;
    }
  }
  return 0;
}

/* The emulator: everything a node sends goes to the TUN device (policy
 * routing on the incoming veth), what the emulator writes back is routed by
 * the main table to the destination's veth. */
static int start_emulator(demo_netns *ns, uint64_t seed) {
  int ready[2];
  if (run(0, "ip -n " DEMO_NETNS_HUB " tuntap add dev " TUN_NAME " mode tun") ||
      run(0, "ip -n " DEMO_NETNS_HUB " link set " TUN_NAME " up") ||
      run(0, "ip -n " DEMO_NETNS_HUB " route add default dev " TUN_NAME
             " table " EMU_TABLE)) {
    return -1;
  }
  for (size_t i = 0; i < ns->nodes; i++) {
    if (run(0, "ip -n " DEMO_NETNS_HUB " rule add iif h%zu lookup " EMU_TABLE,
            i)) {
      return -1;
    }
  }
  size_t size = sizeof(demo_link_stats) * DEMO_NETNS_MAX * DEMO_NETNS_MAX;
  void *stats = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (stats == MAP_FAILED || pipe(ready) != 0) {
    return -1;
  }
  ns->stats = stats;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    return -1;
  }
  if (pid == 0) {
    close(ready[0]);
    int hub = open(NETNS_DIR "/" DEMO_NETNS_HUB, O_RDONLY | O_CLOEXEC);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || hub < 0 ||
        setns(hub, CLONE_NEWNET) != 0) {
      perror("demo: link emulator");
      _exit(1);
    }
    _exit(demo_linkem_run(ns, TUN_NAME, seed, ready[1]) == 0 ? 0 : 1);
  }
  close(ready[1]);
  ns->emulator = pid;
  demo_netns_track(pid);
  char byte;
  ssize_t r = read(ready[0], &byte, 1);
  close(ready[0]);
  return r == 1 ? 0 : -1;
}

static void print_links(const demo_netns *ns) {
  printf("Links (one-way, each direction; seeded):\n");
  for (size_t a = 0; a < ns->nodes; a++) {
    size_t b = (a + 1) % ns->nodes;
    const demo_link *f = &ns->links[a][b], *r = &ns->links[b][a];
    printf("  node%zu <-> node%zu  delay %4.1f ms  jitter +-%.1f ms  loss "
           "%.1f%% -> / %.1f%% <-\n",
           a, b, f->delay_ms, f->jitter_ms, f->loss * 100, r->loss * 100);
  }
}

/* One namespace demo at a time on a host (the names are fixed): an
 * exclusive lock held until this process and its children are gone, which
 * a SIGKILL releases too. */
static int take_lock(void) {
  int fd = open("/run/" DEMO_NETNS_PREFIX "lock", O_RDWR | O_CREAT | O_CLOEXEC,
                0600);
  if (fd < 0) {
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    printf("Waiting for another namespace demo on this host to end...\n");
    fflush(stdout);
    if (flock(fd, LOCK_EX) != 0) {
      close(fd);
      return -1;
    }
  }
  return 0; /* fd stays open: the lock lasts as long as the process */
}

int demo_netns_setup(demo_netns *ns) {
  if (geteuid() != 0) {
    fprintf(stderr, "demo: not root, so no network namespaces: loopback "
                    "mode (all nodes on 127.0.0.1, loss injected by the "
                    "demo)\n");
    return -1;
  }
  if (take_lock() != 0) {
    fprintf(stderr,
            "demo: cannot lock /run/" DEMO_NETNS_PREFIX "lock: %s: "
            "loopback mode\n",
            strerror(errno));
    return -1;
  }
  remove_stale();
  g_ns = ns;
  atexit(at_exit);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  /* A node that crashed closes its pipe: the launcher's next word to it
   * must fail (EPIPE), not kill the launcher before it cleans up. */
  signal(SIGPIPE, SIG_IGN);
  if (add_ns(DEMO_NETNS_HUB) != 0) {
    fprintf(stderr, "demo: `ip netns add` failed (no iproute2 or no network "
                    "namespaces): loopback mode (all nodes on 127.0.0.1)\n");
    remove_all();
    return -1;
  }
  const char *what = "the hub's sysctls";
  if (hub_sysctls() != 0) {
    goto fail;
  }
  what = "a node's namespace, veth pair, address or routes (`ip` above)";
  for (size_t i = 0; i < ns->nodes; i++) {
    if (add_node(i) != 0) {
      goto fail;
    }
  }
  /* Does this kernel have sch_netem?  Try it on the hub's lo. */
  ns->netem = run(1, "tc -n " DEMO_NETNS_HUB
                     " qdisc add dev lo root netem delay 1ms") == 0;
  if (ns->netem) {
    run(0, "tc -n " DEMO_NETNS_HUB " qdisc del dev lo root");
  }
  what = "tc netem on the links (`tc` above)";
  for (size_t b = 0; b < ns->nodes && ns->netem; b++) {
    if (shape_netem(ns, b) != 0) {
      goto fail;
    }
  }
  what = "the link emulator (TUN device, policy routes)";
  if (!ns->netem && start_emulator(ns, ns->nodes * 7919u + 1) != 0) {
    goto fail;
  }
  printf("Network: node i in namespace " DEMO_NETNS_PREFIX "n<i> at "
         "10.77.0.<i+1>, routed by " DEMO_NETNS_HUB "; links shaped %s\n",
         ns->netem ? "by tc netem"
                   : "by the demo's link emulator in the hub (this kernel "
                     "has no sch_netem)");
  print_links(ns);
  return 0;
fail:
  fprintf(stderr,
          "demo: cannot set up %s: namespaces removed, loopback "
          "mode\n",
          what);
  demo_netns_teardown(ns);
  return -1;
}

int demo_netns_enter(size_t i) {
  char path[64];
  snprintf(path, sizeof path, NETNS_DIR "/" DEMO_NETNS_PREFIX "n%zu", i);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  signal(SIGPIPE, SIG_DFL); /* ignored by the launcher only */
  if (fd < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
      setns(fd, CLONE_NEWNET) != 0) {
    return -1;
  }
  close(fd);
  return setenv(DEMO_NETNS_ENV, "1", 1);
}

void demo_netns_teardown(demo_netns *ns) {
  if (ns->emulator > 0) {
    int status;
    kill(ns->emulator, SIGTERM);
    waitpid(ns->emulator, &status, 0);
    for (size_t i = 0; i < g_pid_count; i++) {
      g_pids[i] = g_pids[i] == ns->emulator ? 0 : g_pids[i];
    }
    ns->emulator = 0;
  }
  remove_all();
}

void demo_netns_ring_dir(size_t k, size_t nodes, size_t *a, size_t *b) {
  size_t lo = (k / 2) % nodes, hi = (lo + 1) % nodes;
  *a = k % 2 ? hi : lo;
  *b = k % 2 ? lo : hi;
}

int demo_netns_write(const demo_netns *ns, const char *dir) {
  char path[512];
  snprintf(path, sizeof path, "%s/links.json", dir);
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "demo: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fprintf(f, "{\"shaper\": \"%s\", \"links\": [",
          ns->netem ? "netem" : "emulator");
  for (size_t k = 0; k < 2 * ns->nodes; k++) {
    size_t a, b;
    demo_netns_ring_dir(k, ns->nodes, &a, &b);
    const demo_link *l = &ns->links[a][b];
    const demo_link_stats *s =
        ns->stats != NULL ? &ns->stats[a * DEMO_NETNS_MAX + b] : NULL;
    fprintf(f,
            "%s\n  {\"from\": %zu, \"to\": %zu, \"delay_ms\": %.1f, "
            "\"jitter_ms\": %.1f, \"loss\": %.3f, \"packets\": %llu, "
            "\"dropped\": %llu, \"dropped_at_us\": [",
            k ? "," : "", a, b, l->delay_ms, l->jitter_ms, l->loss,
            s ? (unsigned long long)s->packets : 0ull,
            s ? (unsigned long long)s->dropped : 0ull);
    for (uint64_t d = 0; s != NULL && d < s->dropped && d < DEMO_NETNS_DROPS;
         d++) {
      fprintf(f, "%s%llu", d ? ", " : "", (unsigned long long)s->drop_us[d]);
    }
    fprintf(f, "]}");
  }
  fprintf(f, "\n]}\n");
  return fclose(f) == 0 ? 0 : -1;
}
