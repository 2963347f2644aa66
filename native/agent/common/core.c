/* The agent's core: see core.h. */
#include "core.h"

#include <string.h>

hm_state hm_books;
hm_ring hm_events;

typedef struct tally {
  _Atomic uint64_t calls[9];
  _Atomic uint64_t frees;
  _Atomic uint64_t bytes;
  uint64_t pad[5]; /* a block to itself: 128 bytes, two cache lines */
} tally;
#define MAX_TALLIES 4096
#define TALLIES_PER_PAGE 256
static _Atomic(tally *) tallies[MAX_TALLIES];
static _Atomic(tally *) tally_pages[MAX_TALLIES / TALLIES_PER_PAGE];
static _Atomic unsigned n_tallies;
static tally shared_tally;

static _Atomic(hm_policy *) current_policy;

/* ------------------------------------------------------------------------------------------------ the ring */

int hm_ring_init(hm_ring *ring, uint64_t capacity) {
  ring->slots = hm_platform_pages(capacity * sizeof(hm_event));
  if (!ring->slots) return -1;
  ring->capacity = capacity;
  /* Sequence numbers start at 1: a zeroed slot's mark (0) never looks published. */
  atomic_store(&ring->head, 1);
  atomic_store(&ring->tail, 1);
  return 0;
}

uint64_t hm_ring_reserve(hm_ring *ring, unsigned n) {
  uint64_t seq = atomic_fetch_add_explicit(&ring->head, n, memory_order_relaxed);
  int waited = 0;
  while (seq + n - atomic_load_explicit(&ring->tail, memory_order_acquire) > ring->capacity) {
    if (!atomic_load_explicit(&hm_books.tracing, memory_order_relaxed)) return 0;
    if (!waited) {
      waited = 1;
      atomic_fetch_add_explicit(&hm_books.waits, 1, memory_order_relaxed);
    }
    hm_platform_yield();
  }
  return seq;
}

/* Whether the `count` slots from seq are all published. */
static int published(hm_ring *ring, uint64_t seq, uint64_t count) {
  for (uint64_t i = 0; i < count; i++) {
    hm_event *slot = hm_ring_slot(ring, seq + i);
    if (atomic_load_explicit((_Atomic uint32_t *)&slot->mark, memory_order_acquire) != (uint32_t)(seq + i)) return 0;
  }
  return 1;
}

size_t hm_ring_read(hm_ring *ring, hm_event *out, size_t max, uint64_t *first, uint64_t stall_ns) {
  uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
  uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
  size_t n = 0;
  uint64_t stalled_since = 0;
  *first = tail;
  while (tail < head && n < max) {
    hm_event *slot = hm_ring_slot(ring, tail);
    uint32_t mark = atomic_load_explicit((_Atomic uint32_t *)&slot->mark, memory_order_acquire);
    /* An event and its frames slots go out together, never cut across two batches. */
    uint64_t run = 1;
    if (mark == (uint32_t)tail && slot->op != HM_OP_FRAMES)
      run += (slot->frames + HM_FRAMES_PER_SLOT - 1) / HM_FRAMES_PER_SLOT;
    if (mark == (uint32_t)tail && n + run > max) break;
    if (mark != (uint32_t)tail || !published(ring, tail + 1, run - 1)) {
      /* Reserved, not yet published. Wait a little for it only when nothing else is ready to send. */
      if (n > 0 || stall_ns == 0) break;
      uint64_t now = hm_platform_now_ns();
      if (stalled_since == 0) stalled_since = now;
      if (now - stalled_since < stall_ns) {
        hm_platform_yield();
        continue;
      }
      /* Its writer never finished (a thread killed or longjmp'd out of a hook): say so and go on. */
      hm_frames_slot *lost = (hm_frames_slot *)&out[n];
      memset(lost, 0, sizeof *lost);
      lost->mark = (uint32_t)tail;
      lost->op = HM_OP_FRAMES;
      lost->count = 0;
      atomic_fetch_add_explicit(&hm_books.skipped, 1, memory_order_relaxed);
      n++;
      tail++;
      continue;
    }
    for (uint64_t i = 0; i < run; i++) memcpy(&out[n + i], hm_ring_slot(ring, tail + i), sizeof *slot);
    n += run;
    tail += run;
  }
  atomic_store_explicit(&ring->tail, tail, memory_order_release);
  return n;
}

void hm_ring_after_fork(hm_ring *ring) {
  uint64_t head = atomic_load(&ring->head);
  atomic_store(&ring->tail, head);
}

void hm_record(const hm_event *event, const uint64_t *frames, unsigned nframes) {
  unsigned extra = (nframes + HM_FRAMES_PER_SLOT - 1) / HM_FRAMES_PER_SLOT;
  uint64_t seq = hm_ring_reserve(&hm_events, 1 + extra);
  if (seq == 0) return;
  hm_event *slot = hm_ring_slot(&hm_events, seq);
  /* Everything but the mark: the slot keeps its previous lap's mark (never this seq) until it is published. */
  memcpy((uint8_t *)slot + sizeof slot->mark, (const uint8_t *)event + sizeof event->mark,
         sizeof *slot - sizeof slot->mark);
  slot->frames = nframes;
  for (unsigned i = 0; i < extra; i++) {
    hm_frames_slot *f = (hm_frames_slot *)hm_ring_slot(&hm_events, seq + 1 + i);
    unsigned count = nframes - i * HM_FRAMES_PER_SLOT;
    if (count > HM_FRAMES_PER_SLOT) count = HM_FRAMES_PER_SLOT;
    f->op = HM_OP_FRAMES;
    f->count = (uint8_t)count;
    f->reserved = 0;
    memcpy(f->pc, frames + i * HM_FRAMES_PER_SLOT, count * sizeof(uint64_t));
    if (count < HM_FRAMES_PER_SLOT) memset(f->pc + count, 0, (HM_FRAMES_PER_SLOT - count) * sizeof(uint64_t));
    hm_ring_publish((hm_event *)f, seq + 1 + i);
  }
  hm_ring_publish(slot, seq);
}

/* ------------------------------------------------------------------------------------------------ policy */

hm_policy *hm_policy_parse(const uint8_t *payload, size_t length) {
  hm_policy_wire wire;
  if (length < sizeof wire) return NULL;
  memcpy(&wire, payload, sizeof wire);
  if (wire.default_level > 2) return NULL;
  size_t faults = (size_t)wire.n_faults * sizeof(hm_fault_rule);
  size_t rules = (size_t)wire.n_level_rules * sizeof(hm_level_rule);
  size_t ranges = (size_t)wire.n_ranges * sizeof(hm_range);
  if (wire.n_ranges > (1u << 24) || sizeof wire + faults + rules + ranges != length) return NULL;
  size_t counters = (size_t)wire.n_faults * sizeof(_Atomic uint64_t) * 2;
  size_t bytes = sizeof(hm_policy) + faults + rules + ranges + counters;
  uint8_t *block = hm_platform_pages(bytes);
  if (!block) return NULL;
  hm_policy *p = (hm_policy *)block;
  uint8_t *at = block + sizeof(hm_policy);
  p->wire = wire;
  p->bytes = bytes;
  p->fault_calls = (_Atomic uint64_t *)at;
  at += wire.n_faults * sizeof(_Atomic uint64_t);
  p->fault_bytes = (_Atomic uint64_t *)at;
  at += wire.n_faults * sizeof(_Atomic uint64_t);
  memcpy(at, payload + sizeof wire, faults + rules + ranges);
  p->faults = (const hm_fault_rule *)at;
  p->level_rules = (const hm_level_rule *)(at + faults);
  p->ranges = (const hm_range *)(at + faults + rules);
  p->stack_ops = 0;
  for (unsigned i = 0; i < wire.n_level_rules; i++) {
    const hm_level_rule *r = &p->level_rules[i];
    if (r->level > 2 || (uint64_t)r->range_first + r->range_count > wire.n_ranges) {
      hm_platform_free_pages(block, bytes);
      return NULL;
    }
    if (r->range_count > 0) p->stack_ops |= r->op_mask;
  }
  for (unsigned i = 0; i < wire.n_faults; i++) {
    const hm_fault_rule *f = &p->faults[i];
    if (f->kind < HM_FAULT_PROBABILITY || f->kind > HM_FAULT_AFTER_BYTES || (f->level > 2 && f->level != HM_LEVEL_ANY)) {
      hm_platform_free_pages(block, bytes);
      return NULL;
    }
  }
  return p;
}

void hm_policy_install(hm_policy *policy) {
  /* The previous block is left in place: a call on another thread may still be reading it (policies change a few
   * times per run, a block is a few KiB). */
  atomic_store_explicit(&current_policy, policy, memory_order_release);
  if (policy->wire.flags & HM_POLICY_UNAVAILABLE) atomic_store(&hm_books.unavailable, 1);
}

hm_policy *hm_policy_current(void) { return atomic_load_explicit(&current_policy, memory_order_acquire); }

uint8_t hm_level_for(const hm_policy *policy, unsigned op, uint64_t size, const uint64_t *frames, unsigned nframes) {
  uint64_t bit = 1ull << op;
  for (unsigned i = 0; i < policy->wire.n_level_rules; i++) {
    const hm_level_rule *r = &policy->level_rules[i];
    if (!(r->op_mask & bit) || size < r->min_size || (r->max_size != 0 && size > r->max_size)) continue;
    if (r->range_count > 0) {
      int inside = 0;
      for (unsigned f = 0; f < nframes && !inside; f++) {
        for (unsigned k = 0; k < r->range_count; k++) {
          const hm_range *range = &policy->ranges[r->range_first + k];
          if (frames[f] >= range->lo && frames[f] < range->hi) {
            inside = 1;
            break;
          }
        }
      }
      if (!inside) continue;
    }
    return r->level;
  }
  return policy->wire.default_level;
}

/* splitmix64: a seeded, stateless draw, so that concurrent threads share one sequence without a lock. */
static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static int fault_fires(const hm_policy *policy, unsigned op, uint8_t level, uint64_t size) {
  int fired = 0;
  uint64_t bit = 1ull << op;
  for (unsigned i = 0; i < policy->wire.n_faults; i++) {
    const hm_fault_rule *f = &policy->faults[i];
    if (!(f->op_mask & bit) || (f->level != HM_LEVEL_ANY && f->level != level)) continue;
    uint64_t calls = atomic_fetch_add_explicit(&policy->fault_calls[i], 1, memory_order_relaxed) + 1;
    uint64_t bytes = atomic_fetch_add_explicit(&policy->fault_bytes[i], size, memory_order_relaxed) + size;
    switch (f->kind) {
    case HM_FAULT_EVERY_NTH:
      if (f->value >= 1 && calls % (uint64_t)f->value == 0) fired = 1;
      break;
    case HM_FAULT_AFTER_BYTES:
      if ((double)bytes > f->value) fired = 1;
      break;
    case HM_FAULT_PROBABILITY: {
      double draw = (double)(mix(policy->wire.seed ^ ((uint64_t)i << 48) ^ calls) >> 11) * (1.0 / 9007199254740992.0);
      if (draw < f->value) fired = 1;
      break;
    }
    }
  }
  return fired;
}

static int64_t charged(void) {
  return atomic_load_explicit(&hm_books.committed, memory_order_relaxed) +
         atomic_load_explicit(&hm_books.heap, memory_order_relaxed);
}

static void take(int64_t charge, int64_t reserve, int heap) {
  if (charge) atomic_fetch_add_explicit(heap ? &hm_books.heap : &hm_books.committed, charge, memory_order_relaxed);
  if (reserve) atomic_fetch_add_explicit(&hm_books.reserved, reserve, memory_order_relaxed);
}

void hm_uncharge(int64_t charge, int64_t reserve, int heap) { take(-charge, -reserve, heap); }

void hm_os_failure(uint8_t level) {
  if (level == 2) atomic_store(&hm_books.unavailable, 1);
}

int hm_admit(const hm_policy *policy, unsigned op, uint8_t level, uint64_t size, int64_t charge, int64_t reserve,
             int heap) {
  if (atomic_load_explicit(&hm_books.unavailable, memory_order_relaxed)) return HM_RESULT_REFUSED_UNAVAILABLE;
  if (policy->wire.n_faults > 0 && fault_fires(policy, op, level, size)) {
    hm_os_failure(level);
    return HM_RESULT_REFUSED_INJECTED;
  }
  uint64_t reserve_limit = policy->wire.reserve_limit;
  uint64_t commit_limit = policy->wire.commit_limit;
  take(charge, reserve, heap);
  if (reserve_limit && reserve > 0 && atomic_load(&hm_books.reserved) > (int64_t)reserve_limit) {
    take(-charge, -reserve, heap);
    return HM_RESULT_REFUSED_POLICY;
  }
  if (commit_limit && charge > 0) {
    double allowed = (double)commit_limit * policy->wire.threshold_permille[level > 2 ? 2 : level] / 1000.0;
    if ((double)charged() > allowed) {
      if (level != 2) {
        take(-charge, -reserve, heap);
        return HM_RESULT_REFUSED_POLICY;
      }
      /* eProcessCritical waits for memory to be freed, then gives up: the host turns unavailable. */
      take(-charge, 0, heap);
      uint64_t deadline = hm_platform_now_ns() + (uint64_t)policy->wire.process_critical_wait_ms * 1000000ull;
      for (;;) {
        take(charge, 0, heap);
        if ((double)charged() <= allowed) return HM_RESULT_OK;
        take(-charge, 0, heap);
        if (hm_platform_now_ns() >= deadline) break;
        hm_platform_sleep_us(1000);
      }
      take(0, -reserve, heap);
      atomic_store(&hm_books.unavailable, 1);
      return HM_RESULT_REFUSED_TIMEOUT;
    }
  }
  return HM_RESULT_OK;
}

void hm_counters_fill(hm_counters *out) {
  memset(out, 0, sizeof *out);
  /* Slots handed out so far (sequence numbers start at 1): no counter on the hot path. */
  out->events = atomic_load(&hm_events.head) - 1;
  out->nested = atomic_load(&hm_books.nested);
  out->early = atomic_load(&hm_books.early);
  out->skipped = atomic_load(&hm_books.skipped);
  out->committed = (uint64_t)atomic_load(&hm_books.committed);
  out->reserved = (uint64_t)atomic_load(&hm_books.reserved);
  out->heap = (uint64_t)atomic_load(&hm_books.heap);
  out->waits = atomic_load(&hm_books.waits);
  out->state = atomic_load(&hm_books.unavailable) ? HM_STATE_UNAVAILABLE : HM_STATE_AVAILABLE;
  out->heap_peak = (uint64_t)atomic_load(&hm_books.heap_peak);
  for (unsigned t = 0; t < atomic_load(&n_tallies) && t < MAX_TALLIES; t++) {
    tally *y = atomic_load(&tallies[t]);
    if (!y) continue;
    for (unsigned i = 0; i < 9; i++) out->unsent[i] += atomic_load_explicit(&y->calls[i], memory_order_relaxed);
    out->unsent_frees += atomic_load_explicit(&y->frees, memory_order_relaxed);
    out->unsent_bytes += atomic_load_explicit(&y->bytes, memory_order_relaxed);
  }
  for (unsigned i = 0; i < 9; i++) out->unsent[i] += atomic_load(&shared_tally.calls[i]);
  out->unsent_frees += atomic_load(&shared_tally.frees);
  out->unsent_bytes += atomic_load(&shared_tally.bytes);
}

/* ------------------------------------------------------------------------------------ counted, not sent */

/*
 * Each thread counts in a block of its own (from the agent's pages, never freed: the reader may sum a thread's counts
 * after it exited), so that the hot path is a plain add on a line no other writer touches. Past MAX_TALLIES threads,
 * one shared block with atomic adds.
 */
static _Thread_local tally *my_tally;

static tally *tally_of_thread(void) {
  if (my_tally) return my_tally;
  unsigned i = atomic_fetch_add(&n_tallies, 1);
  if (i >= MAX_TALLIES) return my_tally = &shared_tally;
  if (i % TALLIES_PER_PAGE == 0) {
    tally *page = hm_platform_pages(TALLIES_PER_PAGE * sizeof(tally));
    if (!page) return my_tally = &shared_tally;
    atomic_store(&tally_pages[i / TALLIES_PER_PAGE], page);
  }
  tally *page;
  while (!(page = atomic_load(&tally_pages[i / TALLIES_PER_PAGE]))) hm_platform_yield();
  my_tally = &page[i % TALLIES_PER_PAGE];
  atomic_store(&tallies[i], my_tally);
  return my_tally;
}

void hm_count_unsent(unsigned op, uint64_t bytes) {
  tally *t = tally_of_thread();
  unsigned i = op - HM_OP_MALLOC;
  if (i >= 9) return;
  if (t == &shared_tally) {
    atomic_fetch_add(&t->calls[i], 1);
    atomic_fetch_add(&t->bytes, bytes);
    return;
  }
  atomic_store_explicit(&t->calls[i], atomic_load_explicit(&t->calls[i], memory_order_relaxed) + 1, memory_order_relaxed);
  atomic_store_explicit(&t->bytes, atomic_load_explicit(&t->bytes, memory_order_relaxed) + bytes, memory_order_relaxed);
}

void hm_count_unsent_free(void) {
  tally *t = tally_of_thread();
  if (t == &shared_tally) atomic_fetch_add(&t->frees, 1);
  else atomic_store_explicit(&t->frees, atomic_load_explicit(&t->frees, memory_order_relaxed) + 1, memory_order_relaxed);
}

void hm_heap_grew(int64_t now) {
  int64_t peak = atomic_load_explicit(&hm_books.heap_peak, memory_order_relaxed);
  while (now > peak && !atomic_compare_exchange_weak_explicit(&hm_books.heap_peak, &peak, now, memory_order_relaxed,
                                                                memory_order_relaxed)) {
  }
}

/*
 * The sampled blocks: an exact set under a spin lock, with a counting filter in front so that the free of a block
 * that was not sampled (nearly every free) costs one relaxed load and no lock.
 */
#define FILTER_BITS 16
static _Atomic uint8_t sampled_filter[1u << FILTER_BITS];
static uint64_t *sampled_keys;
static size_t sampled_cap, sampled_count;
static atomic_flag sampled_lock = ATOMIC_FLAG_INIT;

static inline size_t addr_hash(uint64_t a) { return (size_t)((a >> 4) * 0x9e3779b97f4a7c15ull >> 20); }

static void lock_sampled(void) {
  while (atomic_flag_test_and_set_explicit(&sampled_lock, memory_order_acquire)) hm_platform_yield();
}
static void unlock_sampled(void) { atomic_flag_clear_explicit(&sampled_lock, memory_order_release); }

static int sampled_insert_locked(uint64_t key);

static int sampled_grow(void) {
  size_t cap = sampled_cap ? sampled_cap * 2 : 4096;
  uint64_t *old = sampled_keys;
  size_t old_cap = sampled_cap;
  uint64_t *keys = hm_platform_pages(cap * sizeof(uint64_t));
  if (!keys) return -1;
  sampled_keys = keys;
  sampled_cap = cap;
  sampled_count = 0;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i]) sampled_insert_locked(old[i]);
  if (old) hm_platform_free_pages(old, old_cap * sizeof(uint64_t));
  return 0;
}

static int sampled_insert_locked(uint64_t key) {
  if ((sampled_count + 1) * 2 > sampled_cap && sampled_grow() != 0) return -1;
  for (size_t i = addr_hash(key) & (sampled_cap - 1);; i = (i + 1) & (sampled_cap - 1)) {
    if (sampled_keys[i] == key) return 0;
    if (sampled_keys[i] == 0) {
      sampled_keys[i] = key;
      sampled_count++;
      return 0;
    }
  }
}

void hm_sampled_add(uint64_t address) {
  lock_sampled();
  if (sampled_insert_locked(address) == 0) {
    _Atomic uint8_t *f = &sampled_filter[addr_hash(address) & ((1u << FILTER_BITS) - 1)];
    if (atomic_load_explicit(f, memory_order_relaxed) < 255) atomic_fetch_add_explicit(f, 1, memory_order_relaxed);
  }
  unlock_sampled();
}

int hm_sampled_remove(uint64_t address) {
  _Atomic uint8_t *f = &sampled_filter[addr_hash(address) & ((1u << FILTER_BITS) - 1)];
  if (atomic_load_explicit(f, memory_order_relaxed) == 0) return 0;
  int found = 0;
  lock_sampled();
  if (sampled_cap) {
    size_t mask = sampled_cap - 1, i = addr_hash(address) & mask;
    for (;; i = (i + 1) & mask) {
      if (sampled_keys[i] == 0) break;
      if (sampled_keys[i] == address) {
        found = 1;
        break;
      }
    }
    if (found) {
      /* Backward-shift deletion: no tombstones. */
      size_t hole = i;
      for (size_t j = (i + 1) & mask; sampled_keys[j]; j = (j + 1) & mask) {
        size_t home = addr_hash(sampled_keys[j]) & mask;
        int between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!between) {
          sampled_keys[hole] = sampled_keys[j];
          hole = j;
        }
      }
      sampled_keys[hole] = 0;
      sampled_count--;
      uint8_t v = atomic_load_explicit(f, memory_order_relaxed);
      if (v > 0 && v < 255) atomic_fetch_sub_explicit(f, 1, memory_order_relaxed);
    }
  }
  unlock_sampled();
  return found;
}
