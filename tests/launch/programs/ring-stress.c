/* The agent's core under ThreadSanitizer and AddressSanitizer: 8 writers record events (some with stacks) into a
 * small ring while one reader drains it, checking that every writer's events arrive once, in order, whole; and 8
 * threads charge and uncharge under a commit limit, checking that the charge never passes it.
 *   ring-stress [seconds]     prints "events N lost 0 repeated 0 torn 0 overshoot 0" and exits 0 when all hold */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../../../native/agent/common/core.h"

void *hm_platform_pages(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}
void hm_platform_free_pages(void *p, size_t bytes) { munmap(p, bytes); }
void hm_platform_yield(void) { sched_yield(); }
void hm_platform_sleep_us(unsigned us) { usleep(us); }
uint64_t hm_platform_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
uint64_t hm_platform_coarse_ns(void) { return hm_platform_now_ns(); }
uint32_t hm_platform_tid(void) { return 0; }

#define WRITERS 8
static _Atomic int stop;
static _Atomic int writing = WRITERS;
static _Atomic long overshoot;

static void *writer(void *arg) {
  uint32_t id = (uint32_t)(uintptr_t)arg;
  uint64_t n = 0;
  uint64_t frames[20];
  while (!atomic_load(&stop)) {
    hm_event e;
    memset(&e, 0, sizeof e);
    e.op = HM_OP_MALLOC;
    e.tid = id;
    e.addr = n; /* each writer's own count: the reader checks they come in order, once */
    unsigned nframes = (n % 5 == 0) ? (unsigned)(n % 20) : 0;
    for (unsigned i = 0; i < nframes; i++) frames[i] = n * 100 + i;
    e.size = nframes;
    hm_record(&e, frames, nframes);
    n++;
  }
  atomic_fetch_sub(&writing, 1);
  return NULL;
}

static void *charger(void *arg) {
  const hm_policy *policy = arg;
  while (!atomic_load(&stop)) {
    int r = hm_admit(policy, HM_OP_MALLOC, 0, 4096, 4096, 0, 1);
    int64_t charged = atomic_load(&hm_books.heap);
    if (charged > (int64_t)(policy->wire.commit_limit * 9 / 10)) atomic_fetch_add(&overshoot, 1);
    if (r == HM_RESULT_OK) hm_uncharge(4096, 0, 1);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 2;
  if (hm_ring_init(&hm_events, 1u << 10) != 0) return 2;
  atomic_store(&hm_books.tracing, 1);
  /* A policy of 1 MiB, 90 % for eTaskCritical. */
  uint8_t wire[sizeof(hm_policy_wire)];
  hm_policy_wire w;
  memset(&w, 0, sizeof w);
  w.commit_limit = 1 << 20;
  w.threshold_permille[0] = 900, w.threshold_permille[1] = 950, w.threshold_permille[2] = 1000;
  memcpy(wire, &w, sizeof w);
  hm_policy *policy = hm_policy_parse(wire, sizeof wire);
  if (!policy) return 2;
  hm_policy_install(policy);

  pthread_t threads[WRITERS * 2];
  for (uintptr_t i = 0; i < WRITERS; i++) pthread_create(&threads[i], NULL, writer, (void *)i);
  for (int i = 0; i < WRITERS; i++) pthread_create(&threads[WRITERS + i], NULL, charger, policy);
  uint64_t expect[WRITERS] = {0};
  long events = 0, lost = 0, repeated = 0, torn = 0;
  static hm_event batch[4096];
  uint64_t next = 1;
  time_t end = time(NULL) + seconds;
  int stopping = 0;
  for (;;) {
    if (!stopping && time(NULL) >= end) {
      atomic_store(&stop, 1);
      stopping = 1;
    }
    uint64_t first;
    size_t n = hm_ring_read(&hm_events, batch, 4096, &first, 10000000000ull);
    if (n == 0) {
      /* Writers may wait for room: keep reading until every one of them is done, then once more. */
      if (stopping && atomic_load(&writing) == 0 &&
          atomic_load(&hm_events.head) == atomic_load(&hm_events.tail))
        break;
      continue;
    }
    if (first != next) lost += (long)(first - next);
    next = first + n;
    for (size_t i = 0; i < n; i++) {
      hm_event *e = &batch[i];
      if (e->mark != (uint32_t)(first + i)) lost++;
      if (e->op == HM_OP_FRAMES) continue;
      events++;
      uint32_t id = e->tid;
      if (e->addr < expect[id]) repeated++;
      else if (e->addr > expect[id]) lost += (long)(e->addr - expect[id]);
      expect[id] = e->addr + 1;
      /* Its frames follow, whole, in this batch. */
      unsigned nframes = e->frames, k = 0;
      for (size_t j = i + 1; k < nframes && j < n; j++) {
        hm_frames_slot *f = (hm_frames_slot *)&batch[j];
        for (unsigned m = 0; m < f->count; m++, k++)
          if (f->pc[m] != e->addr * 100 + k) torn++;
      }
      if (k != nframes || e->size != nframes) torn++;
    }
  }
  for (int i = 0; i < WRITERS * 2; i++) pthread_join(threads[i], NULL);
  printf("events %ld lost %ld repeated %ld torn %ld overshoot %ld\n", events, lost, repeated, torn,
         atomic_load(&overshoot));
  return lost || repeated || torn || atomic_load(&overshoot) ? 1 : 0;
}
