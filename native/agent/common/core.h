/*
 * The agent's core, the same on every OS: the event ring (many writers, one reader, lock-free), the policy
 * applied inside the program (limits by critical level, fault rules, level rules), and the agent's counters.
 * The OS parts (hooks, the channel, threads, the clock) live in linux/ and windows/ and call into this.
 *
 * Nothing here allocates through the functions the agent hooks: memory comes from hm_platform_pages().
 */
#ifndef HOSTMEM_AGENT_CORE_H
#define HOSTMEM_AGENT_CORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../protocol.h"

#define HM_MAX_FRAMES 32
#define HM_FRAMES_PER_SLOT 7

/* ---- what each OS provides */
void *hm_platform_pages(size_t bytes);           /* zeroed pages, never through a hooked function; NULL on failure */
void hm_platform_free_pages(void *p, size_t bytes);
void hm_platform_yield(void);
void hm_platform_sleep_us(unsigned us);
uint64_t hm_platform_now_ns(void);    /* monotonic */
uint64_t hm_platform_coarse_ns(void); /* monotonic, at the clock tick's resolution (a few ms), for heap calls */
uint32_t hm_platform_tid(void);

/* ---- the ring */
typedef struct hm_ring {
  hm_event *slots;
  uint64_t capacity; /* a power of two */
  _Atomic uint64_t head; /* next sequence number to hand out */
  _Atomic uint64_t tail; /* first sequence number not yet read */
} hm_ring;

int hm_ring_init(hm_ring *ring, uint64_t capacity);
/* Reserve n consecutive slots; waits while the ring is full. Returns the first sequence number, or 0 when the agent
 * stopped tracing while it waited (the caller then records nothing). */
uint64_t hm_ring_reserve(hm_ring *ring, unsigned n);
static inline hm_event *hm_ring_slot(hm_ring *ring, uint64_t seq) { return &ring->slots[seq & (ring->capacity - 1)]; }
static inline void hm_ring_publish(hm_event *slot, uint64_t seq) {
  atomic_store_explicit((_Atomic uint32_t *)&slot->mark, (uint32_t)seq, memory_order_release);
}
/* Copy up to max published slots, in order, into out; *first gets the first one's sequence number. A slot whose
 * writer has not published it for stall_ns is replaced by an HM_OP_FRAMES slot with count 0 (counted as skipped).
 * Returns the number of slots copied; frees them for writers. One reader at a time. */
size_t hm_ring_read(hm_ring *ring, hm_event *out, size_t max, uint64_t *first, uint64_t stall_ns);
/* After fork, in the child: what other threads had reserved is abandoned. */
void hm_ring_after_fork(hm_ring *ring);

/* ---- policy */
typedef struct hm_policy {
  hm_policy_wire wire;
  const hm_fault_rule *faults;
  const hm_level_rule *level_rules;
  const hm_range *ranges;
  _Atomic uint64_t *fault_calls; /* per fault rule: matching calls so far */
  _Atomic uint64_t *fault_bytes; /* per fault rule: bytes asked by matching calls so far */
  uint64_t stack_ops; /* ops whose level rules look at the call site: they always take a stack */
  size_t bytes;       /* size of this block (for freeing) */
} hm_policy;

/* Parse a POLICY payload into a new policy block; NULL when the payload is malformed. */
hm_policy *hm_policy_parse(const uint8_t *payload, size_t length);
void hm_policy_install(hm_policy *policy);
hm_policy *hm_policy_current(void);

/* ---- the agent's books (what the policy is checked against) and counters */
typedef struct hm_state {
  _Atomic int64_t committed; /* committed bytes of the virtual family (charged) */
  _Atomic int64_t reserved;  /* mapped bytes of the virtual family */
  _Atomic int64_t heap;      /* live heap bytes (usable sizes) */
  _Atomic uint64_t nested;
  _Atomic uint64_t early;
  _Atomic uint64_t skipped;
  _Atomic uint64_t waits;
  _Atomic int64_t heap_peak;
  _Atomic int unavailable;
  _Atomic int tracing; /* 1 while events are recorded and the policy applied */
} hm_state;

extern hm_state hm_books;
extern hm_ring hm_events;

/* The critical level a call gets from the level rules (frames may be NULL when nframes is 0). */
uint8_t hm_level_for(const hm_policy *policy, unsigned op, uint64_t size, const uint64_t *frames, unsigned nframes);

/*
 * Admit an allocation of `charge` committed bytes and `reserve` bytes of address space at `level`. On admission
 * the charge is already added to the books (committed or heap, by `heap`), so concurrent callers cannot overshoot;
 * the caller takes it back with hm_uncharge if the real call then fails. Returns HM_RESULT_*.
 */
int hm_admit(const hm_policy *policy, unsigned op, uint8_t level, uint64_t size, int64_t charge, int64_t reserve,
             int heap);
void hm_uncharge(int64_t charge, int64_t reserve, int heap);
/* A real call failed by itself: for an eProcessCritical call the host turns unavailable (as hostmem's host does). */
void hm_os_failure(uint8_t level);

/* Write one event (and its frames) into the ring. */
void hm_record(const hm_event *event, const uint64_t *frames, unsigned nframes);

void hm_counters_fill(hm_counters *out);

/* ---- heap calls counted, not sent (HM_POLICY_SAMPLED_HEAP) */
/* Count a successful heap call that carries no stack (op HM_OP_MALLOC..HM_OP_PVALLOC; bytes asked). */
void hm_count_unsent(unsigned op, uint64_t bytes);
void hm_count_unsent_free(void);
/* After the heap counter grew: keep its peak. */
void hm_heap_grew(int64_t now);
/* The blocks whose allocation was sent (sampled): their free is sent too. Lock-free check first. */
void hm_sampled_add(uint64_t address);
int hm_sampled_remove(uint64_t address); /* 1 when it was there */

#endif
