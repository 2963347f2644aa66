/*
 * hostmem's Linux agent: an LD_PRELOAD object that puts a launched program's virtual-memory calls (mmap, munmap,
 * mprotect, madvise, mremap) and heap calls (the malloc family) through hostmem's host — policy applied here,
 * inside the program, events sent up to hostmem in batches. docs/spec/agent-protocol.md says what each call becomes.
 *
 * Rules it keeps, because it runs inside someone else's program:
 * - Never allocates through what it hooks: its memory comes from the real mmap; dlsym's own early allocations are
 *   served from a static bootstrap buffer.
 * - No recursion: a per-thread busy flag; a hooked call made while the agent is busy on that thread (its own work,
 *   a signal handler that interrupted it, the allocator's own calls) goes straight to the real function and is
 *   counted (`nested`).
 * - Never blocks on hostmem: the policy is applied here; events go into a lock-free ring that one agent thread
 *   drains to hostmem. A writer waits only when the ring is full (hostmem is behind), never for an answer.
 * - Fail-open: if the channel breaks (hostmem died), tracing stops, the program runs on untouched, and the agent
 *   says so once on stderr.
 * - fork: the child is followed (a new connection, its books cloned from the parent's) or dropped, as the user chose.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../common/core.h"

#define HM_EXPORT __attribute__((visibility("default")))
#define HM_TLS __thread __attribute__((tls_model("initial-exec")))

/* ----------------------------------------------------------------------------------------------- real functions */

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef int (*mprotect_fn)(void *, size_t, int);
typedef int (*madvise_fn)(void *, size_t, int);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);
typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*memalign_fn)(size_t, size_t);
typedef void *(*valloc_fn)(size_t);
typedef size_t (*usable_fn)(void *);

static struct {
  mmap_fn mmap;
  munmap_fn munmap;
  mprotect_fn mprotect;
  madvise_fn madvise;
  mremap_fn mremap;
  malloc_fn malloc;
  calloc_fn calloc;
  realloc_fn realloc;
  free_fn free;
  posix_memalign_fn posix_memalign;
  memalign_fn aligned_alloc;
  memalign_fn memalign;
  valloc_fn valloc;
  valloc_fn pvalloc;
  usable_fn usable;
} real;

/* ------------------------------------------------------------------------------------------------ agent state */

enum { AGENT_NEW = 0, AGENT_STARTING = 1, AGENT_READY = 2, AGENT_OFF = 3 };
static _Atomic int agent_state = AGENT_NEW;

static HM_TLS int tls_busy;      /* inside the agent's own code */
static HM_TLS int tls_in_heap;   /* inside a hooked heap call's real call (the allocator's own mmaps) */
static HM_TLS uint32_t tls_tid;
static HM_TLS int64_t tls_sample_left;
static HM_TLS uint64_t tls_random;

static int channel = -1;
static pthread_t drain_thread;
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int said_detached;
static uint64_t agent_text_lo, agent_text_hi; /* the agent's own code: frames inside it are left out */
static int follow_forks;
static _Atomic int forked_child;

/* The agent's own writes to stderr: no stdio (it allocates). */
static void say(const char *text) {
  ssize_t ignored = write(2, text, strlen(text));
  (void)ignored;
}

/* ------------------------------------------------------------------------------------------------- platform */

void *hm_platform_pages(size_t bytes) {
  void *p = real.mmap ? real.mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                      : (void *)syscall(SYS_mmap, NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}
void hm_platform_free_pages(void *p, size_t bytes) {
  if (real.munmap) real.munmap(p, bytes);
  else syscall(SYS_munmap, p, bytes);
}
void hm_platform_yield(void) { sched_yield(); }
void hm_platform_sleep_us(unsigned us) {
  struct timespec ts = {us / 1000000u, (long)(us % 1000000u) * 1000L};
  nanosleep(&ts, NULL);
}
uint64_t hm_platform_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
uint64_t hm_platform_coarse_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
uint32_t hm_platform_tid(void) {
  if (!tls_tid) tls_tid = (uint32_t)syscall(SYS_gettid);
  return tls_tid;
}

/* --------------------------------------------------------------------------- bootstrap allocations during dlsym */

static uint8_t bootstrap_heap[64 * 1024] __attribute__((aligned(16)));
static size_t bootstrap_used;

static int is_bootstrap(const void *p) {
  return (const uint8_t *)p >= bootstrap_heap && (const uint8_t *)p < bootstrap_heap + sizeof bootstrap_heap;
}
static void *bootstrap_alloc(size_t n) {
  size_t need = (n + 16 + 15) & ~(size_t)15;
  if (bootstrap_used + need > sizeof bootstrap_heap) return NULL;
  uint8_t *p = bootstrap_heap + bootstrap_used;
  bootstrap_used += need;
  memcpy(p, &n, sizeof n);
  return p + 16; /* already zero: the buffer is never reused */
}
static size_t bootstrap_size(const void *p) {
  size_t n;
  memcpy(&n, (const uint8_t *)p - 16, sizeof n);
  return n;
}

static _Atomic int resolving;

static void resolve(void) {
  if (real.malloc) return;
  atomic_store(&resolving, 1);
  real.mmap = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
  real.munmap = (munmap_fn)dlsym(RTLD_NEXT, "munmap");
  real.mprotect = (mprotect_fn)dlsym(RTLD_NEXT, "mprotect");
  real.madvise = (madvise_fn)dlsym(RTLD_NEXT, "madvise");
  real.mremap = (mremap_fn)dlsym(RTLD_NEXT, "mremap");
  real.calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
  real.realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
  real.free = (free_fn)dlsym(RTLD_NEXT, "free");
  real.posix_memalign = (posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
  real.aligned_alloc = (memalign_fn)dlsym(RTLD_NEXT, "aligned_alloc");
  real.memalign = (memalign_fn)dlsym(RTLD_NEXT, "memalign");
  real.valloc = (valloc_fn)dlsym(RTLD_NEXT, "valloc");
  real.pvalloc = (valloc_fn)dlsym(RTLD_NEXT, "pvalloc");
  real.usable = (usable_fn)dlsym(RTLD_NEXT, "malloc_usable_size");
  malloc_fn m = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
  atomic_store(&resolving, 0);
  real.malloc = m;
}

/* ----------------------------------------------------------------------------------------------- call stacks */

/*
 * Stacks: libunwind's unw_backtrace with its per-thread cache when the machine has libunwind (heaptrack's choice:
 * a cached frame costs tens of ns), else glibc's backtrace() (libgcc's unwinder: microseconds a stack).
 */
typedef int (*backtrace_fn)(void **, int);
static backtrace_fn fast_backtrace;

static void load_unwinder(void) {
  void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return;
  backtrace_fn bt = (backtrace_fn)dlsym(lib, "unw_backtrace");
  typedef int (*caching_fn)(void *, int);
  caching_fn caching = (caching_fn)dlsym(lib, "_ULx86_64_set_caching_policy");
  void **space = (void **)dlsym(lib, "_ULx86_64_local_addr_space");
  if (!bt || !caching || !space) return;
  caching(*space, 2 /* UNW_CACHE_PER_THREAD */);
  fast_backtrace = bt;
}

static unsigned capture(uint64_t *out) {
  void *pcs[HM_MAX_FRAMES + 8];
  int n = fast_backtrace ? fast_backtrace(pcs, HM_MAX_FRAMES + 8) : backtrace(pcs, HM_MAX_FRAMES + 8);
  unsigned kept = 0;
  int i = 0;
  while (i < n && (uint64_t)pcs[i] >= agent_text_lo && (uint64_t)pcs[i] < agent_text_hi) i++;
  for (; i < n && kept < HM_MAX_FRAMES; i++) out[kept++] = (uint64_t)pcs[i];
  return kept;
}

/* A thread's bytes until its next heap sample: uniform in [1, 2 * mean], so the mean is sample_bytes and periodic
 * allocation patterns do not alias with it. */
static int64_t next_sample(uint64_t mean) {
  if (!tls_random) tls_random = hm_platform_now_ns() ^ ((uint64_t)hm_platform_tid() << 32) ^ 0x9e3779b97f4a7c15ull;
  tls_random ^= tls_random << 13;
  tls_random ^= tls_random >> 7;
  tls_random ^= tls_random << 17;
  return (int64_t)(1 + tls_random % (2 * mean));
}

static int heap_wants_stack(const hm_policy *policy, unsigned op, size_t size) {
  if (policy->stack_ops & (1ull << op)) return 1;
  uint64_t mean = policy->wire.sample_bytes;
  if (mean == 0) return 1;
  if (tls_sample_left <= 0) tls_sample_left = next_sample(mean);
  tls_sample_left -= (int64_t)size;
  if (tls_sample_left > 0) return 0;
  tls_sample_left = next_sample(mean);
  return 1;
}

/* ------------------------------------------------------------------------------------------------- the map */
/*
 * The virtual family's books inside the agent: which ranges the program mapped through the hooked calls, and
 * whether each page is committed (charged), by the kernel's own rule for commit charge: private writable or shared
 * anonymous, not MAP_NORESERVE; mprotect adding PROT_WRITE to a private mapping charges it; madvise DONTNEED/FREE
 * decommits (the Win32 words: docs/spec/host-semantics.md). Mappings made by the allocator inside a heap call are
 * kept but never charged: their blocks are. One spin lock; virtual calls are rare next to heap calls.
 */
typedef struct range {
  uint64_t start, end;
  uint8_t prot;
  uint8_t committed;
  uint8_t chargeable; /* private (or shared anonymous), not NORESERVE, not the allocator's */
  uint8_t in_heap;
} range;

static range *ranges;
static size_t n_ranges, cap_ranges;
static atomic_flag map_lock = ATOMIC_FLAG_INIT;

static void lock_map(void) {
  while (atomic_flag_test_and_set_explicit(&map_lock, memory_order_acquire)) sched_yield();
}
static void unlock_map(void) { atomic_flag_clear_explicit(&map_lock, memory_order_release); }

static int grow_map(size_t need) {
  if (need <= cap_ranges) return 0;
  size_t cap = cap_ranges ? cap_ranges * 2 : 1024;
  while (cap < need) cap *= 2;
  range *bigger = hm_platform_pages(cap * sizeof(range));
  if (!bigger) return -1;
  if (ranges) {
    memcpy(bigger, ranges, n_ranges * sizeof(range));
    hm_platform_free_pages(ranges, cap_ranges * sizeof(range));
  }
  ranges = bigger;
  cap_ranges = cap;
  return 0;
}

/* First range that ends after addr. */
static size_t first_after(uint64_t addr) {
  size_t lo = 0, hi = n_ranges;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (ranges[mid].end <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Split the range holding addr so that addr is a boundary. */
static void split_at(uint64_t addr) {
  size_t i = first_after(addr);
  if (i >= n_ranges || ranges[i].start >= addr) return;
  if (grow_map(n_ranges + 1) != 0) return;
  memmove(&ranges[i + 1], &ranges[i], (n_ranges - i) * sizeof(range));
  n_ranges++;
  ranges[i].end = addr;
  ranges[i + 1].start = addr;
}

/* Committed (charged) bytes in [lo, hi). */
static uint64_t committed_in(uint64_t lo, uint64_t hi) {
  uint64_t total = 0;
  for (size_t i = first_after(lo); i < n_ranges && ranges[i].start < hi; i++) {
    if (!ranges[i].committed) continue;
    uint64_t a = ranges[i].start > lo ? ranges[i].start : lo, b = ranges[i].end < hi ? ranges[i].end : hi;
    total += b - a;
  }
  return total;
}

/* Remove [lo, hi) from the map; returns the mapped and committed bytes it held. */
static void map_remove(uint64_t lo, uint64_t hi, uint64_t *mapped, uint64_t *committed) {
  *mapped = *committed = 0;
  split_at(lo);
  split_at(hi);
  size_t i = first_after(lo), j = i;
  while (j < n_ranges && ranges[j].start < hi) {
    /* The allocator's own mappings were never counted: they are not taken back either. */
    if (!ranges[j].in_heap) *mapped += ranges[j].end - ranges[j].start;
    if (ranges[j].committed) *committed += ranges[j].end - ranges[j].start;
    j++;
  }
  memmove(&ranges[i], &ranges[j], (n_ranges - j) * sizeof(range));
  n_ranges -= j - i;
}

static void map_insert(range r) {
  uint64_t mapped, committed;
  map_remove(r.start, r.end, &mapped, &committed);
  if (grow_map(n_ranges + 1) != 0) return;
  size_t i = first_after(r.start);
  memmove(&ranges[i + 1], &ranges[i], (n_ranges - i) * sizeof(range));
  ranges[i] = r;
  n_ranges++;
}

/* Bytes of [lo, hi) that mprotect(prot) would newly commit. */
static uint64_t protect_charge(uint64_t lo, uint64_t hi, int prot) {
  if (!(prot & PROT_WRITE)) return 0;
  uint64_t total = 0;
  for (size_t i = first_after(lo); i < n_ranges && ranges[i].start < hi; i++) {
    if (ranges[i].committed || !ranges[i].chargeable) continue;
    uint64_t a = ranges[i].start > lo ? ranges[i].start : lo, b = ranges[i].end < hi ? ranges[i].end : hi;
    total += b - a;
  }
  return total;
}

static void map_protect(uint64_t lo, uint64_t hi, int prot) {
  split_at(lo);
  split_at(hi);
  for (size_t i = first_after(lo); i < n_ranges && ranges[i].start < hi; i++) {
    ranges[i].prot = (uint8_t)prot;
    if ((prot & PROT_WRITE) && ranges[i].chargeable) ranges[i].committed = 1;
  }
}

static uint64_t map_decommit(uint64_t lo, uint64_t hi) {
  split_at(lo);
  split_at(hi);
  uint64_t total = 0;
  for (size_t i = first_after(lo); i < n_ranges && ranges[i].start < hi; i++) {
    if (ranges[i].committed) total += ranges[i].end - ranges[i].start;
    ranges[i].committed = 0;
  }
  return total;
}

static int find_range(uint64_t addr, range *out) {
  size_t i = first_after(addr);
  if (i < n_ranges && ranges[i].start <= addr) {
    *out = ranges[i];
    return 1;
  }
  return 0;
}

static uint64_t page_size;
static uint64_t round_up(uint64_t n) { return (n + page_size - 1) & ~(page_size - 1); }

/* ------------------------------------------------------------------------------------------------ the hooks */

static inline int tracing(void) {
  return atomic_load_explicit(&agent_state, memory_order_acquire) == AGENT_READY &&
         atomic_load_explicit(&hm_books.tracing, memory_order_relaxed);
}

static void start(void);
static void flush_now(void);

/* Whether this call is recorded: ready, and not inside the agent or the allocator on this thread. */
static inline int enter(void) {
  int s = atomic_load_explicit(&agent_state, memory_order_acquire);
  if (s == AGENT_NEW) start();
  if (tls_busy || tls_in_heap) {
    if (tracing()) atomic_fetch_add_explicit(&hm_books.nested, 1, memory_order_relaxed);
    return 0;
  }
  if (!tracing()) {
    if (atomic_load_explicit(&agent_state, memory_order_relaxed) != AGENT_OFF)
      atomic_fetch_add_explicit(&hm_books.early, 1, memory_order_relaxed);
    return 0;
  }
  tls_busy = 1;
  return 1;
}
static inline void leave(void) { tls_busy = 0; }

/* Heap calls are many and cheap: they take the coarse clock (ms); virtual-memory calls the precise one. */
static void event_init(hm_event *e, unsigned op) {
  memset(e, 0, sizeof *e);
  e->op = (uint8_t)op;
  e->level = HM_LEVEL_NONE;
  e->tid = hm_platform_tid();
  e->time_ns = op >= HM_OP_MALLOC ? hm_platform_coarse_ns() : hm_platform_now_ns();
}

static int chargeable_mapping(int prot, int flags) {
  (void)prot;
  if (flags & MAP_NORESERVE) return 0;
  if (flags & MAP_SHARED) return (flags & MAP_ANONYMOUS) != 0;
  return 1;
}

static void *hooked_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
  if (!real.mmap) resolve();
  int in_heap = tls_in_heap && !tls_busy && tracing();
  if (in_heap) {
    /* The allocator's own mapping, inside a heap call: seen, kept, never charged (its blocks are). */
    tls_busy = 1;
    void *p = real.mmap(addr, length, prot, flags, fd, offset);
    if (p != MAP_FAILED) {
      range r = {(uint64_t)p, (uint64_t)p + round_up(length), (uint8_t)prot, 0, 0, 1};
      lock_map();
      map_insert(r);
      unlock_map();
      hm_event e;
      event_init(&e, HM_OP_MMAP);
      e.addr = (uint64_t)addr, e.size = length, e.ret = (uint64_t)p, e.prot = (uint8_t)prot, e.flags = (uint32_t)flags;
      e.extra = (uint64_t)offset;
      e.aflags = HM_EV_IN_HEAP | (fd >= 0 && !(flags & MAP_ANONYMOUS) ? HM_EV_FILE : 0) | (flags & MAP_SHARED ? HM_EV_SHARED : 0);
      hm_record(&e, NULL, 0);
    }
    tls_busy = 0;
    return p;
  }
  if (!enter()) return real.mmap(addr, length, prot, flags, fd, offset);
  int saved = errno;
  hm_event e;
  event_init(&e, HM_OP_MMAP);
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = capture(frames);
  const hm_policy *policy = hm_policy_current();
  uint64_t size = round_up(length);
  int chargeable = chargeable_mapping(prot, flags);
  int commits = chargeable && (prot & PROT_WRITE || ((flags & MAP_SHARED) && (flags & MAP_ANONYMOUS)));
  e.level = hm_level_for(policy, HM_OP_MMAP, length, frames, nframes);
  int64_t charge = 0, reserve = (int64_t)size;
  if (flags & MAP_FIXED && length > 0) {
    /* MAP_FIXED replaces what was there: charged for the difference. */
    lock_map();
    uint64_t before = committed_in((uint64_t)addr, (uint64_t)addr + size);
    unlock_map();
    charge = (commits ? (int64_t)size : 0) - (int64_t)before;
  } else {
    charge = commits ? (int64_t)size : 0;
  }
  int result = length == 0 ? HM_RESULT_OK : hm_admit(policy, HM_OP_MMAP, e.level, length, charge, reserve, 0);
  void *p = MAP_FAILED;
  if (result == HM_RESULT_OK) {
    errno = saved;
    p = real.mmap(addr, length, prot, flags, fd, offset);
    if (p == MAP_FAILED) {
      e.err = (uint16_t)errno;
      result = HM_RESULT_OS_ERROR;
      if (length > 0) hm_uncharge(charge, reserve, 0);
      hm_os_failure(e.level);
    } else {
      range r = {(uint64_t)p, (uint64_t)p + size, (uint8_t)prot, (uint8_t)commits, (uint8_t)chargeable, 0};
      uint64_t mapped = 0, committed = 0;
      lock_map();
      if (flags & MAP_FIXED) map_remove(r.start, r.end, &mapped, &committed);
      map_insert(r);
      unlock_map();
      /* What MAP_FIXED replaced leaves the books (the charge above already netted its commit). */
      if (mapped) atomic_fetch_sub(&hm_books.reserved, (int64_t)mapped);
    }
  } else {
    e.err = ENOMEM;
  }
  e.result = (uint8_t)result;
  e.addr = (uint64_t)addr, e.size = length, e.ret = p == MAP_FAILED ? 0 : (uint64_t)p, e.prot = (uint8_t)prot;
  e.flags = (uint32_t)flags, e.extra = (uint64_t)offset;
  e.aflags = (fd >= 0 && !(flags & MAP_ANONYMOUS) ? HM_EV_FILE : 0) | (commits ? HM_EV_COMMITTED : 0) |
             (flags & MAP_SHARED ? HM_EV_SHARED : 0);
  hm_record(&e, frames, nframes);
  if (result != HM_RESULT_OK) flush_now();
  leave();
  if (result != HM_RESULT_OK && result != HM_RESULT_OS_ERROR) errno = ENOMEM;
  else if (result == HM_RESULT_OS_ERROR) errno = e.err;
  else errno = saved;
  return p;
}

HM_EXPORT void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return hooked_mmap(addr, length, prot, flags, fd, offset);
}
HM_EXPORT void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return hooked_mmap(addr, length, prot, flags, fd, offset);
}

HM_EXPORT int munmap(void *addr, size_t length) {
  if (!real.munmap) resolve();
  int in_heap = tls_in_heap && !tls_busy && tracing();
  if (!in_heap && !enter()) return real.munmap(addr, length);
  if (in_heap) tls_busy = 1;
  hm_event e;
  event_init(&e, HM_OP_MUNMAP);
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = in_heap ? 0 : capture(frames);
  int rc = real.munmap(addr, length);
  if (rc == 0) {
    uint64_t mapped, committed;
    lock_map();
    map_remove((uint64_t)addr, (uint64_t)addr + round_up(length), &mapped, &committed);
    unlock_map();
    hm_uncharge((int64_t)committed, (int64_t)mapped, 0);
  } else {
    e.err = (uint16_t)errno;
    e.result = HM_RESULT_OS_ERROR;
  }
  e.addr = (uint64_t)addr, e.size = length, e.ret = (uint64_t)(int64_t)rc;
  if (in_heap) e.aflags = HM_EV_IN_HEAP;
  int err = errno;
  hm_record(&e, frames, nframes);
  leave();
  errno = err;
  return rc;
}

HM_EXPORT int mprotect(void *addr, size_t length, int prot) {
  if (!real.mprotect) resolve();
  if (!enter()) return real.mprotect(addr, length, prot);
  int saved = errno;
  hm_event e;
  event_init(&e, HM_OP_MPROTECT);
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = capture(frames);
  const hm_policy *policy = hm_policy_current();
  uint64_t lo = (uint64_t)addr, hi = lo + round_up(length);
  lock_map();
  int64_t charge = (int64_t)protect_charge(lo, hi, prot);
  unlock_map();
  int result = HM_RESULT_OK;
  if (charge > 0) {
    /* Making reserved pages writable is a commit: it goes through the policy. */
    e.level = hm_level_for(policy, HM_OP_MPROTECT, (uint64_t)charge, frames, nframes);
    result = hm_admit(policy, HM_OP_MPROTECT, e.level, (uint64_t)charge, charge, 0, 0);
  }
  int rc = -1;
  if (result == HM_RESULT_OK) {
    rc = real.mprotect(addr, length, prot);
    if (rc == 0) {
      lock_map();
      map_protect(lo, hi, prot);
      unlock_map();
    } else {
      e.err = (uint16_t)errno;
      result = HM_RESULT_OS_ERROR;
      if (charge > 0) hm_uncharge(charge, 0, 0);
    }
  } else {
    e.err = ENOMEM;
  }
  e.result = (uint8_t)result;
  e.addr = lo, e.size = length, e.prot = (uint8_t)prot, e.ret = (uint64_t)(int64_t)rc, e.extra = (uint64_t)charge;
  hm_record(&e, frames, nframes);
  if (result != HM_RESULT_OK) flush_now();
  leave();
  errno = result == HM_RESULT_OK ? saved : e.err;
  return rc;
}

HM_EXPORT int madvise(void *addr, size_t length, int advice) {
  if (!real.madvise) resolve();
  int decommits = advice == MADV_DONTNEED || advice == MADV_FREE;
  if (!decommits || !enter()) return real.madvise(addr, length, advice);
  hm_event e;
  event_init(&e, HM_OP_MADVISE);
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = capture(frames);
  int rc = real.madvise(addr, length, advice);
  if (rc == 0) {
    lock_map();
    uint64_t freed = map_decommit((uint64_t)addr, (uint64_t)addr + round_up(length));
    unlock_map();
    hm_uncharge((int64_t)freed, 0, 0);
    e.extra = freed;
  } else {
    e.err = (uint16_t)errno;
    e.result = HM_RESULT_OS_ERROR;
  }
  int err = errno;
  e.addr = (uint64_t)addr, e.size = length, e.flags = (uint32_t)advice, e.ret = (uint64_t)(int64_t)rc;
  hm_record(&e, frames, nframes);
  leave();
  errno = err;
  return rc;
}

HM_EXPORT void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...) {
  if (!real.mremap) resolve();
  void *target = NULL;
  if (flags & MREMAP_FIXED) {
    va_list ap;
    va_start(ap, flags);
    target = va_arg(ap, void *);
    va_end(ap);
  }
  if (!enter()) return real.mremap(old, old_size, new_size, flags, target);
  int saved = errno;
  hm_event e;
  event_init(&e, HM_OP_MREMAP);
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = capture(frames);
  const hm_policy *policy = hm_policy_current();
  range was = {0, 0, 0, 0, 0, 0};
  lock_map();
  int known = find_range((uint64_t)old, &was);
  unlock_map();
  int64_t grow = (int64_t)round_up(new_size) - (int64_t)round_up(old_size);
  int64_t charge = known && was.committed && grow > 0 ? grow : 0;
  int64_t reserve = known && grow > 0 ? grow : 0;
  int result = HM_RESULT_OK;
  if (grow > 0 && known) {
    e.level = hm_level_for(policy, HM_OP_MREMAP, (uint64_t)grow, frames, nframes);
    result = hm_admit(policy, HM_OP_MREMAP, e.level, (uint64_t)grow, charge, reserve, 0);
  }
  void *p = MAP_FAILED;
  if (result == HM_RESULT_OK) {
    p = real.mremap(old, old_size, new_size, flags, target);
    if (p == MAP_FAILED) {
      e.err = (uint16_t)errno;
      result = HM_RESULT_OS_ERROR;
      if (charge || reserve) hm_uncharge(charge, reserve, 0);
    } else if (known) {
      uint64_t mapped, committed;
      lock_map();
      map_remove((uint64_t)old, (uint64_t)old + round_up(old_size), &mapped, &committed);
      range r = was;
      r.start = (uint64_t)p;
      r.end = (uint64_t)p + round_up(new_size);
      map_insert(r);
      unlock_map();
      /* Shrinking gives back what the old range held past the new size. */
      if (grow < 0) hm_uncharge(was.committed ? -grow : 0, -grow, 0);
    }
  } else {
    e.err = ENOMEM;
  }
  e.result = (uint8_t)result;
  e.addr = (uint64_t)old, e.size = new_size, e.extra = old_size, e.flags = (uint32_t)flags;
  e.ret = p == MAP_FAILED ? 0 : (uint64_t)p;
  e.aflags = known && was.committed ? HM_EV_COMMITTED : 0;
  hm_record(&e, frames, nframes);
  if (result != HM_RESULT_OK) flush_now();
  leave();
  errno = result == HM_RESULT_OK ? saved : (result == HM_RESULT_OS_ERROR ? e.err : ENOMEM);
  return p;
}

/* The heap family. */

/* Under HM_POLICY_SAMPLED_HEAP a successful heap call without a stack is counted, not sent; a block whose allocation was
 * sent is remembered, so that its free is sent too. */
static inline int sampled_mode(const hm_policy *policy) { return (policy->wire.flags & HM_POLICY_SAMPLED_HEAP) != 0; }

static size_t usable(void *p) { return p && real.usable ? real.usable(p) : 0; }

/* One allocation through the policy: `call` does the real work inside the allocator. */
typedef void *(*alloc_call)(size_t a, size_t b);

static void *heap_alloc(unsigned op, size_t size, size_t alignment, alloc_call call, size_t a, size_t b, int *refused) {
  hm_event e;
  event_init(&e, op);
  const hm_policy *policy = hm_policy_current();
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = 0;
  if (heap_wants_stack(policy, op, size)) {
    nframes = capture(frames);
    if (policy->wire.sample_bytes) e.aflags |= HM_EV_SAMPLED;
  }
  e.level = hm_level_for(policy, op, size, frames, nframes);
  /* Charged before the call only under a commit limit (so that threads cannot overshoot it together). */
  int64_t pre = policy->wire.commit_limit ? (int64_t)size : 0;
  int result = hm_admit(policy, op, e.level, size, pre, 0, 1);
  void *p = NULL;
  if (result == HM_RESULT_OK) {
    tls_busy = 0;
    tls_in_heap = 1;
    p = call(a, b);
    tls_in_heap = 0;
    tls_busy = 1;
    if (p) {
      size_t u = usable(p);
      int64_t add = (int64_t)u - pre;
      hm_heap_grew(atomic_fetch_add_explicit(&hm_books.heap, add, memory_order_relaxed) + add);
      e.extra = u;
    } else {
      e.err = ENOMEM;
      result = HM_RESULT_OS_ERROR;
      if (pre) hm_uncharge(pre, 0, 1);
      hm_os_failure(e.level);
    }
  } else {
    e.err = ENOMEM;
  }
  e.result = (uint8_t)result;
  e.size = size, e.ret = (uint64_t)p, e.flags = (uint32_t)alignment;
  if (result == HM_RESULT_OK && sampled_mode(policy) && nframes == 0) {
    hm_count_unsent(op, size);
  } else {
    hm_record(&e, frames, nframes);
    if (p && sampled_mode(policy)) hm_sampled_add((uint64_t)p);
  }
  *refused = result != HM_RESULT_OK;
  /* A refusal may be the program's last act (it crashes on NULL): hostmem has it before the program sees it. */
  if (result != HM_RESULT_OK) flush_now();
  return p;
}

static void *call_malloc(size_t n, size_t unused) {
  (void)unused;
  return real.malloc(n);
}
static void *call_calloc(size_t n, size_t m) { return real.calloc(n, m); }
static void *call_memalign(size_t align, size_t n) { return real.memalign(align, n); }
static void *call_aligned_alloc(size_t align, size_t n) { return real.aligned_alloc(align, n); }
static void *call_valloc(size_t n, size_t unused) {
  (void)unused;
  return real.valloc(n);
}
static void *call_pvalloc(size_t n, size_t unused) {
  (void)unused;
  return real.pvalloc(n);
}
static void *call_posix_memalign(size_t align, size_t n) {
  void *p = NULL;
  return real.posix_memalign(&p, align, n) == 0 ? p : NULL;
}

HM_EXPORT void *malloc(size_t n) {
  if (!real.malloc) {
    if (atomic_load(&resolving)) return bootstrap_alloc(n);
    resolve();
  }
  if (!enter()) return real.malloc(n);
  int refused;
  void *p = heap_alloc(HM_OP_MALLOC, n, 0, call_malloc, n, 0, &refused);
  leave();
  if (refused) errno = ENOMEM;
  return p;
}

HM_EXPORT void *calloc(size_t n, size_t m) {
  if (!real.calloc) {
    if (atomic_load(&resolving)) return bootstrap_alloc(n * m);
    resolve();
  }
  size_t total;
  if (__builtin_mul_overflow(n, m, &total) || !enter()) return real.calloc(n, m);
  int refused;
  void *p = heap_alloc(HM_OP_CALLOC, total, 0, call_calloc, n, m, &refused);
  leave();
  if (refused) errno = ENOMEM;
  return p;
}

HM_EXPORT void free(void *p) {
  if (!p || is_bootstrap(p)) return;
  if (!real.free) resolve();
  if (!enter()) {
    real.free(p);
    return;
  }
  size_t u = usable(p);
  const hm_policy *policy = hm_policy_current();
  /* Under sampled heap events, the free of a block whose allocation was not sent is only counted. */
  int send = !sampled_mode(policy) || hm_sampled_remove((uint64_t)p);
  tls_busy = 0;
  tls_in_heap = 1;
  real.free(p);
  tls_in_heap = 0;
  tls_busy = 1;
  atomic_fetch_sub_explicit(&hm_books.heap, (int64_t)u, memory_order_relaxed);
  if (send) {
    hm_event e;
    event_init(&e, HM_OP_FREE);
    e.addr = (uint64_t)p, e.extra = u;
    hm_record(&e, NULL, 0);
  } else {
    hm_count_unsent_free();
  }
  leave();
}

HM_EXPORT void *realloc(void *p, size_t n) {
  if (p && is_bootstrap(p)) {
    void *q = malloc(n);
    if (q) memcpy(q, p, bootstrap_size(p) < n ? bootstrap_size(p) : n);
    return q;
  }
  if (!real.realloc) {
    if (atomic_load(&resolving)) return bootstrap_alloc(n);
    resolve();
  }
  if (!enter()) return real.realloc(p, n);
  hm_event e;
  event_init(&e, HM_OP_REALLOC);
  const hm_policy *policy = hm_policy_current();
  size_t before = usable(p);
  int64_t grow = (int64_t)n - (int64_t)before;
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = 0;
  if (n > 0 && heap_wants_stack(policy, HM_OP_REALLOC, n)) {
    nframes = capture(frames);
    if (policy->wire.sample_bytes) e.aflags |= HM_EV_SAMPLED;
  }
  int result = HM_RESULT_OK;
  /* Out of the sampled set before the real call frees it (another thread may get the address at once). */
  int old_sent = sampled_mode(policy) && p && hm_sampled_remove((uint64_t)p);
  if (n > 0) {
    e.level = hm_level_for(policy, HM_OP_REALLOC, n, frames, nframes);
    result = hm_admit(policy, HM_OP_REALLOC, e.level, n, grow > 0 ? grow : 0, 0, 1);
  }
  void *q = NULL;
  if (result == HM_RESULT_OK) {
    tls_busy = 0;
    tls_in_heap = 1;
    q = real.realloc(p, n);
    tls_in_heap = 0;
    tls_busy = 1;
    if (q || n == 0) {
      size_t after = usable(q);
      int64_t add = (int64_t)after - (int64_t)before - (grow > 0 ? grow : 0);
      hm_heap_grew(atomic_fetch_add_explicit(&hm_books.heap, add, memory_order_relaxed) + add);
      e.extra = after;
    } else {
      e.err = ENOMEM;
      result = HM_RESULT_OS_ERROR;
      if (grow > 0) hm_uncharge(grow, 0, 1);
      hm_os_failure(e.level);
    }
  } else {
    e.err = ENOMEM;
  }
  e.result = (uint8_t)result;
  e.addr = (uint64_t)p, e.size = n, e.ret = (uint64_t)q;
  e.flags = (uint32_t)before; /* the old block's usable size, so the books need not look it up */
  /* Sent when it failed, carries a stack, or moves a block whose allocation was sent; else counted. */
  if (old_sent && result != HM_RESULT_OK) hm_sampled_add((uint64_t)p); /* the old block stays */
  if (result == HM_RESULT_OK && sampled_mode(policy) && nframes == 0 && !old_sent) {
    hm_count_unsent(HM_OP_REALLOC, n);
  } else {
    hm_record(&e, frames, nframes);
    if (q && sampled_mode(policy)) hm_sampled_add((uint64_t)q);
  }
  if (result != HM_RESULT_OK) flush_now();
  leave();
  if (result != HM_RESULT_OK) errno = ENOMEM;
  return q;
}

#define ALIGNED_HOOK(name, op, call, ...)                                                                       \
  {                                                                                                            \
    if (!real.name) resolve();                                                                                 \
    if (!enter()) return real.name(__VA_ARGS__);                                                               \
    int refused;                                                                                               \
    void *p = heap_alloc(op, size, align, call, align, size, &refused);                                        \
    leave();                                                                                                   \
    if (refused) errno = ENOMEM;                                                                               \
    return p;                                                                                                  \
  }

HM_EXPORT void *memalign(size_t align, size_t size) ALIGNED_HOOK(memalign, HM_OP_MEMALIGN, call_memalign, align, size)
HM_EXPORT void *aligned_alloc(size_t align, size_t size)
    ALIGNED_HOOK(aligned_alloc, HM_OP_ALIGNED_ALLOC, call_aligned_alloc, align, size)

HM_EXPORT void *valloc(size_t size) {
  if (!real.valloc) resolve();
  if (!enter()) return real.valloc(size);
  int refused;
  void *p = heap_alloc(HM_OP_VALLOC, size, (size_t)page_size, call_valloc, size, 0, &refused);
  leave();
  if (refused) errno = ENOMEM;
  return p;
}

HM_EXPORT void *pvalloc(size_t size) {
  if (!real.pvalloc) resolve();
  if (!enter()) return real.pvalloc(size);
  int refused;
  void *p = heap_alloc(HM_OP_PVALLOC, size, (size_t)page_size, call_pvalloc, size, 0, &refused);
  leave();
  if (refused) errno = ENOMEM;
  return p;
}

HM_EXPORT int posix_memalign(void **out, size_t align, size_t size) {
  if (!real.posix_memalign) resolve();
  /* Bad alignments are the allocator's to refuse (EINVAL), before any policy. */
  if ((align % sizeof(void *)) != 0 || (align & (align - 1)) != 0 || !enter()) return real.posix_memalign(out, align, size);
  int refused;
  void *p = heap_alloc(HM_OP_POSIX_MEMALIGN, size, align, call_posix_memalign, align, size, &refused);
  leave();
  if (refused || !p) return ENOMEM;
  *out = p;
  return 0;
}

/* ---------------------------------------------------------------------------------------------- the channel */

static int send_all(const void *data, size_t length) {
  const uint8_t *at = data;
  while (length > 0) {
    ssize_t n = send(channel, at, length, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    at += n;
    length -= (size_t)n;
  }
  return 0;
}

static int send_frame(uint16_t type, const void *payload, size_t length) {
  hm_frame_header h = {(uint32_t)(sizeof h + length), type, 0};
  if (send_all(&h, sizeof h) != 0) return -1;
  return length ? send_all(payload, length) : 0;
}

static int recv_all(void *data, size_t length, int timeout_ms) {
  uint8_t *at = data;
  while (length > 0) {
    struct pollfd p = {channel, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    ssize_t n = recv(channel, at, length, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    at += n;
    length -= (size_t)n;
  }
  return 0;
}

/* Read one frame from hostmem into a buffer from hm_platform_pages. */
static uint8_t *recv_frame(hm_frame_header *h, int timeout_ms) {
  if (recv_all(h, sizeof *h, timeout_ms) != 0 || h->length < sizeof *h || h->length > (64u << 20)) return NULL;
  size_t length = h->length - sizeof *h;
  uint8_t *payload = hm_platform_pages(length + 1);
  if (!payload) return NULL;
  if (length && recv_all(payload, length, 10000) != 0) {
    hm_platform_free_pages(payload, length + 1);
    return NULL;
  }
  return payload;
}

static void detach(const char *why) {
  int expected = 0;
  atomic_store(&hm_books.tracing, 0);
  if (atomic_compare_exchange_strong(&said_detached, &expected, 1)) {
    say("hostmem agent: ");
    say(why);
    say("; the program runs on untouched from here on\n");
  }
}

/* Apply one frame from hostmem. */
static void handle_down(const hm_frame_header *h, uint8_t *payload) {
  size_t length = h->length - sizeof *h;
  if (h->type == HM_MSG_POLICY) {
    hm_policy *p = hm_policy_parse(payload, length);
    if (p) {
      atomic_store(&hm_books.unavailable, 0);
      hm_policy_install(p);
      follow_forks = (p->wire.flags & HM_POLICY_FOLLOW_FORKS) != 0;
    }
  } else if (h->type == HM_MSG_RESET) {
    atomic_store(&hm_books.unavailable, 0);
  }
  hm_platform_free_pages(payload, length + 1);
}

/* ------------------------------------------------------------------------------------------ modules (ld.so) */

typedef struct module_walk {
  uint8_t *buffer;
  size_t used, cap;
  uint32_t count;
} module_walk;

static uint64_t module_generation;

static int add_module(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  module_walk *w = data;
  uint64_t lo = UINT64_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uint64_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
    if (a < lo) lo = a;
    if (b > hi) hi = b;
  }
  if (hi == 0) return 0;
  char exe[4096];
  const char *path = info->dlpi_name;
  if (!path || !path[0]) {
    /* The main program: ld.so gives it no name. */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    path = exe;
  }
  size_t plen = strlen(path);
  size_t need = sizeof(hm_module) + plen;
  if (w->used + need > w->cap) return 1;
  hm_module m = {info->dlpi_addr, lo, hi, (uint32_t)plen, 0};
  memcpy(w->buffer + w->used, &m, sizeof m);
  memcpy(w->buffer + w->used + sizeof m, path, plen);
  w->used += need;
  w->count++;
  return 0;
}

static int count_modules(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  uint64_t *generation = data;
  *generation = info->dlpi_adds * 1000003ull + info->dlpi_subs;
  return 1;
}

static int send_modules(int force) {
  uint64_t generation = 0;
  dl_iterate_phdr(count_modules, &generation);
  if (!force && generation == module_generation) return 0;
  module_generation = generation;
  module_walk w = {NULL, sizeof(hm_modules_header), 1u << 20, 0};
  w.buffer = hm_platform_pages(w.cap);
  if (!w.buffer) return 0;
  dl_iterate_phdr(add_module, &w);
  hm_modules_header mh = {w.count, (uint32_t)generation};
  memcpy(w.buffer, &mh, sizeof mh);
  int rc = send_frame(HM_MSG_MODULES, w.buffer, w.used);
  hm_platform_free_pages(w.buffer, w.cap);
  return rc;
}

static int own_module(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  uint64_t *bias = data;
  if (info->dlpi_addr != bias[0]) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    agent_text_lo = info->dlpi_addr + ph->p_vaddr;
    agent_text_hi = agent_text_lo + ph->p_memsz;
  }
  return 1;
}

/* Where the agent's own code is, so that its frames are left out of call stacks. */
static void find_own_text(void) {
  Dl_info info;
  if (!dladdr((void *)&find_own_text, &info)) return;
  uint64_t bias[1] = {(uint64_t)info.dli_fbase};
  dl_iterate_phdr(own_module, bias);
}

/* ------------------------------------------------------------------------------------------- the drain thread */

#define BATCH_SLOTS 4096

static uint8_t *batch; /* frame header + first_seq + BATCH_SLOTS slots */

/* Send what the ring holds; returns slots sent, or -1 when the channel broke. */
static long drain_once(uint64_t stall_ns) {
  hm_event *slots = (hm_event *)(batch + sizeof(hm_frame_header) + sizeof(hm_events_header));
  uint64_t first;
  size_t n = hm_ring_read(&hm_events, slots, BATCH_SLOTS, &first, stall_ns);
  if (n == 0) return 0;
  hm_frame_header h = {(uint32_t)(sizeof h + sizeof(hm_events_header) + n * sizeof(hm_event)), HM_MSG_EVENTS, 0};
  memcpy(batch, &h, sizeof h);
  memcpy(batch + sizeof h, &first, sizeof first);
  return send_all(batch, h.length) == 0 ? (long)n : -1;
}

static int send_counters(void) {
  hm_counters c;
  hm_counters_fill(&c);
  return send_frame(HM_MSG_COUNTERS, &c, sizeof c);
}

static void *drain_main(void *unused) {
  (void)unused;
  tls_busy = 1; /* nothing this thread does is the program's */
  uint64_t last_counters = 0, last_modules = 0;
  unsigned idle_us = 200;
  while (atomic_load(&hm_books.tracing)) {
    pthread_mutex_lock(&drain_lock);
    long sent = drain_once(10000000000ull);
    pthread_mutex_unlock(&drain_lock);
    if (sent < 0) {
      detach("lost the connection to hostmem");
      break;
    }
    uint64_t now = hm_platform_now_ns();
    /* The counters carry what sampled heap calls did not send: every 100 ms; the module list is looked at every s. */
    if (now - last_counters > 100000000ull) {
      int modules = now - last_modules > 1000000000ull;
      last_counters = now;
      if (modules) last_modules = now;
      pthread_mutex_lock(&drain_lock);
      int rc = (modules ? send_modules(0) : 0) | send_counters();
      pthread_mutex_unlock(&drain_lock);
      if (rc != 0) {
        detach("lost the connection to hostmem");
        break;
      }
    }
    if (sent > 0) {
      idle_us = 200;
      continue;
    }
    /* Idle: look for hostmem's messages while waiting (at most ~5 ms between looks at the ring). */
    struct pollfd p = {channel, POLLIN, 0};
    int r = poll(&p, 1, (int)(idle_us / 1000));
    if (r == 0 && idle_us < 1000) hm_platform_sleep_us(idle_us);
    if (idle_us < 5000) idle_us *= 2;
    if (r > 0) {
      if (p.revents & (POLLHUP | POLLERR)) {
        detach("hostmem closed the connection");
        break;
      }
      hm_frame_header h;
      uint8_t *payload = recv_frame(&h, 1000);
      if (!payload) {
        detach("lost the connection to hostmem");
        break;
      }
      handle_down(&h, payload);
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------------------------------------ start-up */

static int connect_to_hostmem(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path) {
    close(fd);
    return -1;
  }
  strcpy(addr.sun_path, path);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static const char *socket_path(void) {
  /* getenv does not allocate. */
  return getenv("HOSTMEM_AGENT_SOCKET");
}

/* Connect, say hello, and wait for the answer and the policy. 1 = trace, 0 = drop, -1 = failed. */
static int handshake(int forked) {
  const char *path = socket_path();
  if (!path || !path[0]) return 0;
  channel = connect_to_hostmem(path);
  if (channel < 0) return -1;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe);
  if (n < 0) n = 0;
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  hm_hello hello = {HM_HELLO_MAGIC,
                    HM_PROTOCOL_VERSION,
                    HM_OS_LINUX,
                    (uint32_t)getpid(),
                    (uint32_t)getppid(),
                    (uint32_t)page_size,
                    forked ? HM_HELLO_FORKED : 0,
                    hm_platform_now_ns(),
                    (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec,
                    (uint32_t)hm_events.capacity,
                    HM_MAX_FRAMES,
                    (uint16_t)n};
  uint8_t buffer[sizeof hello + 4096];
  memcpy(buffer, &hello, sizeof hello);
  memcpy(buffer + sizeof hello, exe, (size_t)n);
  if (send_frame(HM_MSG_HELLO, buffer, sizeof hello + (size_t)n) != 0) return -1;
  hm_frame_header h;
  uint8_t *payload = recv_frame(&h, 10000);
  if (!payload || h.type != HM_MSG_WELCOME || h.length < sizeof h + sizeof(hm_welcome)) return -1;
  hm_welcome welcome;
  memcpy(&welcome, payload, sizeof welcome);
  hm_platform_free_pages(payload, h.length - sizeof h + 1);
  if (welcome.decision != HM_DECISION_TRACE) return 0;
  /* The modules before the policy: hostmem resolves call-site rules against them, so they hold from the first call. */
  if (send_modules(1) != 0) return -1;
  payload = recv_frame(&h, 10000);
  if (!payload || h.type != HM_MSG_POLICY) return -1;
  size_t length = h.length - sizeof h;
  hm_policy *policy = hm_policy_parse(payload, length);
  hm_platform_free_pages(payload, length + 1);
  if (!policy) return -1;
  hm_policy_install(policy);
  follow_forks = (policy->wire.flags & HM_POLICY_FOLLOW_FORKS) != 0;
  return 1;
}

static void stop_channel(void) {
  if (channel >= 0) close(channel);
  channel = -1;
}

/* Trace from here: handshake, then the drain thread. Runs with tls_busy set. */
static int begin(int forked) {
  int decision = handshake(forked);
  if (decision <= 0) {
    stop_channel();
    if (decision < 0) {
      atomic_store(&said_detached, 1);
      say("hostmem agent: cannot reach hostmem; the program runs untraced\n");
    }
    return 0;
  }
  atomic_store(&hm_books.tracing, 1);
  if (pthread_create(&drain_thread, NULL, drain_main, NULL) != 0) {
    detach("cannot start its thread");
    return 0;
  }
  return 1;
}

static void at_fork_prepare(void) {
  lock_map();
  pthread_mutex_lock(&drain_lock);
}
static void at_fork_parent(void) {
  pthread_mutex_unlock(&drain_lock);
  unlock_map();
}
static void at_fork_child(void) {
  pthread_mutex_unlock(&drain_lock);
  unlock_map();
  tls_tid = 0;
  if (atomic_load(&agent_state) != AGENT_READY || !atomic_load(&hm_books.tracing)) return;
  atomic_store(&hm_books.tracing, 0);
  stop_channel(); /* the parent's connection is the parent's */
  hm_ring_after_fork(&hm_events);
  if (!follow_forks) {
    atomic_store(&agent_state, AGENT_OFF);
    return;
  }
  int busy = tls_busy;
  tls_busy = 1;
  atomic_store(&forked_child, 1);
  if (!begin(1)) atomic_store(&agent_state, AGENT_OFF);
  tls_busy = busy;
}

static void start(void) {
  int expected = AGENT_NEW;
  if (!atomic_compare_exchange_strong(&agent_state, &expected, AGENT_STARTING)) return;
  int busy = tls_busy;
  tls_busy = 1;
  resolve();
  page_size = (uint64_t)sysconf(_SC_PAGESIZE);
  int ok = 0;
  if (socket_path() && hm_ring_init(&hm_events, 1u << 17) == 0) {
    batch = hm_platform_pages(sizeof(hm_frame_header) + sizeof(hm_events_header) + BATCH_SLOTS * sizeof(hm_event));
    find_own_text();
    /* The unwinders load and allocate on first use: do it now, untraced. */
    load_unwinder();
    void *warm[4];
    backtrace(warm, 4);
    if (fast_backtrace) fast_backtrace(warm, 4);
    if (batch) ok = begin(0);
    pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
  }
  atomic_store(&agent_state, ok ? AGENT_READY : AGENT_OFF);
  tls_busy = busy;
}

/* Send everything recorded so far, from the calling thread (the drain thread may be asleep). */
static void flush_now(void) {
  if (!atomic_load(&hm_books.tracing) || channel < 0) return;
  pthread_mutex_lock(&drain_lock);
  long sent;
  while ((sent = drain_once(10000000000ull)) > 0) {
  }
  pthread_mutex_unlock(&drain_lock);
  if (sent < 0) detach("lost the connection to hostmem");
}

/* _exit skips destructors: send what is left first (exit() reaches the destructor below). */
typedef void (*exit_fn)(int);
HM_EXPORT void _exit(int status) {
  int busy = tls_busy;
  tls_busy = 1;
  flush_now();
  tls_busy = busy;
  exit_fn real_exit = (exit_fn)dlsym(RTLD_NEXT, "_exit");
  if (real_exit) real_exit(status);
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}
HM_EXPORT void _Exit(int status) { _exit(status); }

__attribute__((constructor)) static void agent_constructor(void) { start(); }

/* Normal exit: send what is left, the last counters and BYE. Other threads may still run: tracing goes on. */
__attribute__((destructor)) static void agent_destructor(void) {
  if (atomic_load(&agent_state) != AGENT_READY || !atomic_load(&hm_books.tracing)) return;
  int busy = tls_busy;
  tls_busy = 1;
  pthread_mutex_lock(&drain_lock);
  long sent;
  while ((sent = drain_once(10000000000ull)) > 0) {
  }
  if (sent == 0) {
    send_modules(0);
    send_counters();
    send_frame(HM_MSG_BYE, NULL, 0);
  }
  pthread_mutex_unlock(&drain_lock);
  tls_busy = busy;
}
