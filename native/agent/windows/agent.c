/*
 * hostmem's Windows agent: a DLL that puts a launched program's virtual-memory calls (VirtualAlloc, VirtualAllocEx
 * on its own process, VirtualFree, VirtualProtect, VirtualQuery) and heap calls (HeapCreate, HeapDestroy,
 * HeapAlloc, HeapReAlloc, HeapFree) through hostmem's host — policy applied here, inside the program, events sent
 * up to hostmem in batches over a named pipe. The same protocol as the Linux agent (native/agent/protocol.h), the
 * same core (native/agent/common).
 *
 * How it gets in: hostmem creates the program suspended and has a remote thread LoadLibraryW this DLL
 * (native/win32/launch.ts). DllMain then connects to the pipe named by HOSTMEM_AGENT_PIPE, says HELLO, sends the
 * modules, takes the policy, and only then patches the import tables of every loaded module (and of every module
 * loaded later: LoadLibrary* are hooked too; GetProcAddress answers the hooks for the hooked functions).
 *
 * Rules it keeps, because it runs inside someone else's program:
 * - Never allocates through what it hooks: its memory comes from VirtualAlloc called from this DLL, whose own import
 *   table is never patched; no C runtime allocation, no emulated TLS (the busy flag lives in a TEB TLS slot).
 * - No recursion: a per-thread busy flag; a hooked call made while the agent is busy on that thread goes straight
 *   to the real function and is counted (`nested`).
 * - Never blocks on hostmem: the policy is applied here; events go into the lock-free ring that one agent thread
 *   drains to hostmem. A refusal is flushed by the refused thread itself before the program sees it.
 * - Keeps the program's last error: a call that succeeds leaves GetLastError as the real call left it.
 * - Fail-open: if the pipe breaks (hostmem died), tracing stops, the program runs on untouched, and the agent says
 *   so once on stderr.
 */
#include <windows.h>
#include <psapi.h>
#include <winternl.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/channel.h"
#include "../common/core.h"

/* ------------------------------------------------------------------------------------------------ agent state */

enum { AGENT_NEW = 0, AGENT_READY = 2, AGENT_OFF = 3 };
static _Atomic int agent_state = AGENT_NEW;

static HANDLE channel = INVALID_HANDLE_VALUE;
static SRWLOCK drain_lock = SRWLOCK_INIT;
static uint64_t agent_lo, agent_hi; /* this DLL's image: frames inside it are left out of call stacks */
static HMODULE self;
static uint64_t page_size = 4096;
static LARGE_INTEGER qpc_frequency;

/* Per-thread state in TEB TLS slots (index < 64: read straight from the TEB, which neither allocates nor touches
 * the last error as TlsGetValue does). */
static DWORD tls_busy_slot = TLS_OUT_OF_INDEXES, tls_sample_slot = TLS_OUT_OF_INDEXES;
#define TEB_TLS_SLOTS 0x1480

static inline uint8_t *teb(void) {
  /* NT_TIB.Self at gs:0x30 (NtCurrentTeb; read by hand: GCC 12 flags mingw's __readgsqword with -Warray-bounds). */
  uint8_t *t;
  __asm__("movq %%gs:0x30, %0" : "=r"(t));
  return t;
}
static inline void **tls_slot(DWORD index) { return (void **)(teb() + TEB_TLS_SLOTS + index * sizeof(void *)); }
static inline int busy(void) { return *tls_slot(tls_busy_slot) != NULL; }
static inline void set_busy(int b) { *tls_slot(tls_busy_slot) = b ? (void *)1 : NULL; }

/* The agent's own writes to stderr. */
void hm_platform_say(const char *text) {
  DWORD written;
  HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
  if (err && err != INVALID_HANDLE_VALUE) WriteFile(err, text, (DWORD)strlen(text), &written, NULL);
}

/* ------------------------------------------------------------------------------------------------- platform */

void *hm_platform_pages(size_t bytes) { return VirtualAlloc(NULL, bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE); }
void hm_platform_free_pages(void *p, size_t bytes) {
  (void)bytes;
  VirtualFree(p, 0, MEM_RELEASE);
}
void hm_platform_yield(void) { SwitchToThread(); }
void hm_platform_sleep_us(unsigned us) { Sleep(us < 1000 ? 1 : us / 1000); }
uint64_t hm_platform_now_ns(void) {
  LARGE_INTEGER c;
  QueryPerformanceCounter(&c);
  uint64_t f = (uint64_t)qpc_frequency.QuadPart, n = (uint64_t)c.QuadPart;
  return n / f * 1000000000ull + n % f * 1000000000ull / f;
}
uint32_t hm_platform_tid(void) { return (uint32_t)GetCurrentThreadId(); }

static uint64_t realtime_ns(void) {
  FILETIME ft;
  GetSystemTimePreciseAsFileTime(&ft);
  uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime; /* 100 ns since 1601 */
  return (t - 116444736000000000ull) * 100ull;
}

/* ----------------------------------------------------------------------------------------------- call stacks */

static unsigned capture(uint64_t *out) {
  void *pcs[HM_MAX_FRAMES + 8];
  unsigned n = RtlCaptureStackBackTrace(0, HM_MAX_FRAMES + 8, pcs, NULL);
  unsigned kept = 0, i = 0;
  while (i < n && (uint64_t)pcs[i] >= agent_lo && (uint64_t)pcs[i] < agent_hi) i++;
  for (; i < n && kept < HM_MAX_FRAMES; i++) out[kept++] = (uint64_t)pcs[i];
  return kept;
}

static _Atomic uint64_t sample_seed;

/* A thread's bytes until its next heap sample: uniform in [1, 2 * mean] (see the Linux agent). */
static int64_t next_sample(uint64_t mean) {
  uint64_t x = atomic_fetch_add_explicit(&sample_seed, 0x9e3779b97f4a7c15ull, memory_order_relaxed) ^
               ((uint64_t)hm_platform_tid() << 32);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (int64_t)(1 + x % (2 * mean));
}

static int heap_wants_stack(const hm_policy *policy, unsigned op, size_t size) {
  if (policy->stack_ops & (1ull << op)) return 1;
  uint64_t mean = policy->wire.sample_bytes;
  if (mean == 0) return 1;
  int64_t *left = (int64_t *)tls_slot(tls_sample_slot);
  if (*left <= 0) *left = next_sample(mean);
  *left -= (int64_t)size;
  if (*left > 0) return 0;
  *left = next_sample(mean);
  return 1;
}

/* ------------------------------------------------------------------------------------- the reservations */
/*
 * The reservations the program made through the hooked VirtualAlloc, sorted by base. Which pages of them are
 * committed is asked of the OS itself (VirtualQuery), so a commit is charged only for pages not yet committed and a
 * decommit or release gives back exactly what was committed. Calls on memory the agent never saw reserved (made
 * before it, or by the loader) pass through uncharged, as the books leave them out too.
 */
typedef struct reservation {
  uint64_t base, size;
} reservation;

static reservation *reservations;
static size_t n_reservations, cap_reservations;
static SRWLOCK map_lock = SRWLOCK_INIT;

static size_t first_ending_after(uint64_t addr) {
  size_t lo = 0, hi = n_reservations;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (reservations[mid].base + reservations[mid].size <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static int find_reservation(uint64_t addr, reservation *out) {
  size_t i = first_ending_after(addr);
  if (i < n_reservations && reservations[i].base <= addr) {
    *out = reservations[i];
    return 1;
  }
  return 0;
}

static void add_reservation(uint64_t base, uint64_t size) {
  if (n_reservations == cap_reservations) {
    size_t cap = cap_reservations ? cap_reservations * 2 : 4096;
    reservation *bigger = hm_platform_pages(cap * sizeof(reservation));
    if (!bigger) return;
    if (reservations) {
      memcpy(bigger, reservations, n_reservations * sizeof(reservation));
      hm_platform_free_pages(reservations, cap_reservations * sizeof(reservation));
    }
    reservations = bigger;
    cap_reservations = cap;
  }
  size_t i = first_ending_after(base);
  memmove(&reservations[i + 1], &reservations[i], (n_reservations - i) * sizeof(reservation));
  reservations[i].base = base;
  reservations[i].size = size;
  n_reservations++;
}

static void remove_reservation(uint64_t base) {
  size_t i = first_ending_after(base);
  if (i >= n_reservations || reservations[i].base != base) return;
  memmove(&reservations[i], &reservations[i + 1], (n_reservations - i - 1) * sizeof(reservation));
  n_reservations--;
}

/* Committed bytes in [lo, hi), as the OS says. */
static uint64_t committed_in(uint64_t lo, uint64_t hi) {
  uint64_t total = 0, at = lo;
  while (at < hi) {
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery((void *)at, &mbi, sizeof mbi) == 0) break;
    uint64_t end = (uint64_t)mbi.BaseAddress + mbi.RegionSize;
    if (end > hi) end = hi;
    if (end <= at) break;
    if (mbi.State == MEM_COMMIT) total += end - at;
    at = end;
  }
  return total;
}

static uint64_t page_down(uint64_t a) { return a & ~(page_size - 1); }
static uint64_t page_up(uint64_t a) { return (a + page_size - 1) & ~(page_size - 1); }

/* ------------------------------------------------------------------------------------------------- heaps */
/*
 * Heaps made by the hooked HeapCreate, with the bytes live in each, so that HeapDestroy gives back what its blocks
 * held. An open-addressed table; the process heap and heaps made before the agent are not in it.
 */
#define HEAP_TABLE 1024
typedef struct heap_entry {
  _Atomic uint64_t handle; /* 0 = empty, 1 = removed */
  _Atomic int64_t live;
  uint32_t flags;
} heap_entry;
static heap_entry heaps[HEAP_TABLE];

static heap_entry *heap_find(HANDLE heap) {
  uint64_t h = (uint64_t)heap;
  for (unsigned i = 0, at = (unsigned)(h >> 16) % HEAP_TABLE; i < HEAP_TABLE; i++, at = (at + 1) % HEAP_TABLE) {
    uint64_t v = atomic_load_explicit(&heaps[at].handle, memory_order_acquire);
    if (v == h) return &heaps[at];
    if (v == 0) return NULL;
  }
  return NULL;
}

static void heap_add(HANDLE heap, uint32_t flags) {
  uint64_t h = (uint64_t)heap;
  for (unsigned i = 0, at = (unsigned)(h >> 16) % HEAP_TABLE; i < HEAP_TABLE; i++, at = (at + 1) % HEAP_TABLE) {
    uint64_t v = atomic_load(&heaps[at].handle);
    if (v > 1) continue;
    if (atomic_compare_exchange_strong(&heaps[at].handle, &v, 1)) {
      atomic_store(&heaps[at].live, 0);
      heaps[at].flags = flags;
      atomic_store_explicit(&heaps[at].handle, h, memory_order_release);
      return;
    }
  }
}

static void heap_charge(HANDLE heap, int64_t bytes) {
  heap_entry *e = heap_find(heap);
  if (e) atomic_fetch_add_explicit(&e->live, bytes, memory_order_relaxed);
}

/* ------------------------------------------------------------------------------------------ blocks from before */
/*
 * The heap blocks that existed when the agent started (the C runtime's and the loader's, allocated while the process
 * was initialised, before the agent was loaded), found with HeapWalk. Freeing one gives nothing back: it was never
 * charged, so its free is recorded with a usable size of 0 (the books do the same) and the charge never goes below
 * zero. Sorted addresses; a freed one gets its low bit set (blocks are 8-aligned), so a later block at the same
 * address counts as the agent's.
 */
static _Atomic uint64_t *before_blocks;
static size_t n_before, cap_before;

static void note_before(uint64_t address) {
  if (n_before == cap_before) {
    size_t cap = cap_before ? cap_before * 2 : 16384;
    _Atomic uint64_t *bigger = hm_platform_pages(cap * sizeof *bigger);
    if (!bigger) return;
    if (before_blocks) {
      memcpy((void *)bigger, (void *)before_blocks, n_before * sizeof *bigger);
      hm_platform_free_pages((void *)before_blocks, cap_before * sizeof *bigger);
    }
    before_blocks = bigger, cap_before = cap;
  }
  atomic_store_explicit(&before_blocks[n_before++], address, memory_order_relaxed);
}

static int by_address(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void find_blocks_before(void) {
  HANDLE heaps_now[256];
  DWORD n = GetProcessHeaps(256, heaps_now);
  for (DWORD i = 0; i < n && i < 256; i++) {
    if (!HeapLock(heaps_now[i])) continue;
    PROCESS_HEAP_ENTRY entry;
    entry.lpData = NULL;
    while (HeapWalk(heaps_now[i], &entry))
      if (entry.wFlags & PROCESS_HEAP_ENTRY_BUSY) note_before((uint64_t)entry.lpData);
    HeapUnlock(heaps_now[i]);
  }
  if (n_before) qsort((void *)before_blocks, n_before, sizeof *before_blocks, by_address);
}

/* Whether p is a block from before the agent, not yet freed; `take` marks it freed. */
static int from_before(const void *p, int take) {
  uint64_t a = (uint64_t)p;
  size_t lo = 0, hi = n_before;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    uint64_t v = atomic_load_explicit(&before_blocks[mid], memory_order_relaxed) & ~1ull;
    if (v < a) lo = mid + 1;
    else hi = mid;
  }
  if (lo >= n_before) return 0;
  uint64_t v = atomic_load_explicit(&before_blocks[lo], memory_order_relaxed);
  if (v != a) return 0;
  return take ? atomic_compare_exchange_strong(&before_blocks[lo], &v, a | 1) : 1;
}

static void unmark_before(const void *p) {
  for (size_t i = 0; i < n_before; i++)
    if (atomic_load(&before_blocks[i]) == ((uint64_t)p | 1)) atomic_store(&before_blocks[i], (uint64_t)p);
}

/* ------------------------------------------------------------------------------------------------ the hooks */

static inline int tracing(void) {
  return atomic_load_explicit(&agent_state, memory_order_acquire) == AGENT_READY &&
         atomic_load_explicit(&hm_books.tracing, memory_order_relaxed);
}

static void flush_now(void);

/* Whether this call is recorded: tracing, and not inside the agent on this thread. */
static inline int enter(void) {
  if (!tracing()) return 0;
  if (busy()) {
    atomic_fetch_add_explicit(&hm_books.nested, 1, memory_order_relaxed);
    return 0;
  }
  set_busy(1);
  return 1;
}
static inline void leave(void) { set_busy(0); }

static void event_init(hm_event *e, unsigned op) {
  memset(e, 0, sizeof *e);
  e->op = (uint8_t)op;
  e->level = HM_LEVEL_NONE;
  e->tid = hm_platform_tid();
  e->time_ns = hm_platform_now_ns();
}

static int is_current_process(HANDLE process) {
  return process == GetCurrentProcess() || GetProcessId(process) == GetCurrentProcessId();
}

/* VirtualAlloc and VirtualAllocEx on this process: `process` NULL for the former. */
static LPVOID virtual_alloc(HANDLE process, LPVOID addr, SIZE_T size, DWORD type, DWORD protect) {
  DWORD saved = GetLastError();
  hm_event e;
  event_init(&e, HM_OP_VIRTUAL_ALLOC);
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = capture(frames);
  const hm_policy *policy = hm_policy_current();
  int fresh = (type & MEM_RESERVE) || addr == NULL;
  int commits = (type & MEM_COMMIT) != 0;
  uint64_t a = (uint64_t)addr;
  int64_t charge = 0, reserve = 0;
  reservation known = {0, 0};
  if (fresh) {
    /* A new reservation: from addr rounded down to 64 KiB (or wherever the OS puts it) to the last page asked. */
    reserve = (int64_t)(a ? page_up(a + size) - (a & ~0xffffull) : page_up(size));
    charge = commits ? (int64_t)(a ? page_up(a + size) - page_down(a) : page_up(size)) : 0;
  } else if (commits) {
    AcquireSRWLockShared(&map_lock);
    int inside = find_reservation(a, &known);
    ReleaseSRWLockShared(&map_lock);
    if (inside) {
      uint64_t lo = page_down(a), hi = page_up(a + size);
      charge = (int64_t)(hi - lo - committed_in(lo, hi));
      e.aflags |= HM_EV_COMMITTED;
    }
  }
  if (fresh && commits) e.aflags |= HM_EV_COMMITTED;
  int result = HM_RESULT_OK;
  if ((charge > 0 || reserve > 0) && size > 0) {
    e.level = hm_level_for(policy, HM_OP_VIRTUAL_ALLOC, size, frames, nframes);
    result = hm_admit(policy, HM_OP_VIRTUAL_ALLOC, e.level, size, charge, reserve, 0);
  } else {
    charge = reserve = 0;
  }
  LPVOID p = NULL;
  if (result == HM_RESULT_OK) {
    SetLastError(saved);
    p = process ? VirtualAllocEx(process, addr, size, type, protect) : VirtualAlloc(addr, size, type, protect);
    if (!p) {
      e.err = (uint16_t)GetLastError();
      result = HM_RESULT_OS_ERROR;
      if (charge || reserve) hm_uncharge(charge, reserve, 0);
      if (charge > 0 || reserve > 0) hm_os_failure(e.level);
    } else {
      saved = GetLastError();
      if (fresh && size > 0) {
        AcquireSRWLockExclusive(&map_lock);
        add_reservation((uint64_t)p, (uint64_t)reserve);
        ReleaseSRWLockExclusive(&map_lock);
      }
    }
  } else {
    e.err = commits ? ERROR_COMMITMENT_LIMIT : ERROR_NOT_ENOUGH_MEMORY;
  }
  e.result = (uint8_t)result;
  e.addr = a, e.size = size, e.ret = (uint64_t)p, e.flags = type, e.prot = (uint8_t)protect;
  e.extra = (uint64_t)charge;
  hm_record(&e, frames, nframes);
  if (result != HM_RESULT_OK && result != HM_RESULT_OS_ERROR) flush_now();
  leave();
  SetLastError(result == HM_RESULT_OK ? saved : e.err);
  return p;
}

static LPVOID WINAPI hook_VirtualAlloc(LPVOID addr, SIZE_T size, DWORD type, DWORD protect) {
  if (!enter()) return VirtualAlloc(addr, size, type, protect);
  return virtual_alloc(NULL, addr, size, type, protect);
}

static LPVOID WINAPI hook_VirtualAllocEx(HANDLE process, LPVOID addr, SIZE_T size, DWORD type, DWORD protect) {
  if (!is_current_process(process) || !enter()) return VirtualAllocEx(process, addr, size, type, protect);
  return virtual_alloc(process, addr, size, type, protect);
}

static BOOL WINAPI hook_VirtualFree(LPVOID addr, SIZE_T size, DWORD type) {
  if (!enter()) return VirtualFree(addr, size, type);
  hm_event e;
  event_init(&e, HM_OP_VIRTUAL_FREE);
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = capture(frames);
  uint64_t a = (uint64_t)addr, committed = 0, mapped = 0;
  reservation r = {0, 0};
  AcquireSRWLockExclusive(&map_lock);
  int known = find_reservation(a, &r);
  if (known) {
    if (type & MEM_RELEASE) {
      if (a == r.base && size == 0) committed = committed_in(r.base, r.base + r.size), mapped = r.size;
    } else if (type & MEM_DECOMMIT) {
      uint64_t lo = page_down(a), hi = size == 0 ? r.base + r.size : page_up(a + size);
      committed = committed_in(lo, hi);
    }
  }
  BOOL ok = VirtualFree(addr, size, type);
  DWORD err = GetLastError();
  if (ok && known && mapped) remove_reservation(r.base);
  ReleaseSRWLockExclusive(&map_lock);
  if (ok) {
    if (known) hm_uncharge((int64_t)committed, (int64_t)mapped, 0);
  } else {
    e.err = (uint16_t)err;
    e.result = HM_RESULT_OS_ERROR;
    committed = 0;
  }
  e.addr = a, e.size = size, e.flags = type, e.ret = (uint64_t)ok, e.extra = committed;
  hm_record(&e, frames, nframes);
  leave();
  SetLastError(err);
  return ok;
}

static BOOL WINAPI hook_VirtualProtect(LPVOID addr, SIZE_T size, DWORD protect, PDWORD old) {
  if (!enter()) return VirtualProtect(addr, size, protect, old);
  hm_event e;
  event_init(&e, HM_OP_VIRTUAL_PROTECT);
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = capture(frames);
  BOOL ok = VirtualProtect(addr, size, protect, old);
  DWORD err = GetLastError();
  if (!ok) e.err = (uint16_t)err, e.result = HM_RESULT_OS_ERROR;
  e.addr = (uint64_t)addr, e.size = size, e.flags = protect, e.prot = (uint8_t)protect, e.ret = (uint64_t)ok;
  e.extra = ok && old ? *old : 0;
  hm_record(&e, frames, nframes);
  leave();
  SetLastError(err);
  return ok;
}

static SIZE_T WINAPI hook_VirtualQuery(LPCVOID addr, PMEMORY_BASIC_INFORMATION info, SIZE_T length) {
  if (!enter()) return VirtualQuery(addr, info, length);
  /* Counted, not charged: no stack (the program may walk its whole address space). */
  hm_event e;
  event_init(&e, HM_OP_VIRTUAL_QUERY);
  SIZE_T n = VirtualQuery(addr, info, length);
  DWORD err = GetLastError();
  /* A query that answers 0 (an address past the user range) is an answer, not a memory failure: ret 0, its error. */
  if (n == 0) e.err = (uint16_t)err;
  e.addr = (uint64_t)addr, e.size = length, e.ret = n;
  hm_record(&e, NULL, 0);
  leave();
  SetLastError(err);
  return n;
}

static HANDLE WINAPI hook_HeapCreate(DWORD flags, SIZE_T initial, SIZE_T maximum) {
  if (!enter()) return HeapCreate(flags, initial, maximum);
  hm_event e;
  event_init(&e, HM_OP_HEAP_CREATE);
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = capture(frames);
  HANDLE h = HeapCreate(flags, initial, maximum);
  DWORD err = GetLastError();
  if (h) heap_add(h, flags);
  else e.err = (uint16_t)err, e.result = HM_RESULT_OS_ERROR;
  e.size = initial, e.extra = maximum, e.flags = flags, e.ret = (uint64_t)h;
  hm_record(&e, frames, nframes);
  leave();
  SetLastError(err);
  return h;
}

static BOOL WINAPI hook_HeapDestroy(HANDLE heap) {
  if (!enter()) return HeapDestroy(heap);
  hm_event e;
  event_init(&e, HM_OP_HEAP_DESTROY);
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = capture(frames);
  heap_entry *entry = heap_find(heap);
  BOOL ok = HeapDestroy(heap);
  DWORD err = GetLastError();
  int64_t live = 0;
  if (ok && entry) {
    /* Every block it held goes with it. */
    live = atomic_exchange(&entry->live, 0);
    atomic_store(&entry->handle, 1);
    hm_uncharge(live, 0, 1);
  } else if (!ok) {
    e.err = (uint16_t)err, e.result = HM_RESULT_OS_ERROR;
  }
  e.addr = (uint64_t)heap, e.ret = (uint64_t)ok, e.extra = (uint64_t)live;
  hm_record(&e, frames, nframes);
  leave();
  SetLastError(err);
  return ok;
}

static int generates_exceptions(HANDLE heap, DWORD flags) {
  if (flags & HEAP_GENERATE_EXCEPTIONS) return 1;
  heap_entry *entry = heap_find(heap);
  return entry && (entry->flags & HEAP_GENERATE_EXCEPTIONS);
}

/* What the program sees of a heap call that failed (refused, or failed by itself): NULL with the last error, or
 * STATUS_NO_MEMORY raised where the caller asked for exceptions (the flag or the heap's). */
static void heap_answer(int result, DWORD err, HANDLE heap, DWORD flags, SIZE_T size) {
  if (result == HM_RESULT_OK) return;
  SetLastError(result == HM_RESULT_OS_ERROR ? err : ERROR_NOT_ENOUGH_MEMORY);
  if (generates_exceptions(heap, flags)) {
    ULONG_PTR info[1] = {size};
    RaiseException(STATUS_NO_MEMORY, 0, 1, info);
  }
}

static LPVOID WINAPI hook_HeapAlloc(HANDLE heap, DWORD flags, SIZE_T size) {
  if (!enter()) return HeapAlloc(heap, flags, size);
  hm_event e;
  event_init(&e, HM_OP_HEAP_ALLOC);
  const hm_policy *policy = hm_policy_current();
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = 0;
  if (heap_wants_stack(policy, HM_OP_HEAP_ALLOC, size)) {
    nframes = capture(frames);
    if (policy->wire.sample_bytes) e.aflags |= HM_EV_SAMPLED;
  }
  e.level = hm_level_for(policy, HM_OP_HEAP_ALLOC, size, frames, nframes);
  int result = hm_admit(policy, HM_OP_HEAP_ALLOC, e.level, size, (int64_t)size, 0, 1);
  LPVOID p = NULL;
  DWORD err = 0;
  if (result == HM_RESULT_OK) {
    DWORD saved = GetLastError();
    /* The heap itself may raise STATUS_NO_MEMORY: the books must not keep the charge then. */
    p = HeapAlloc(heap, flags & ~(DWORD)HEAP_GENERATE_EXCEPTIONS, size);
    if (p) {
      /* A Windows heap block's size (HeapSize) is the size asked, on Windows and in Wine: no need to ask it. */
      int64_t usable = (int64_t)size;
      heap_charge(heap, usable);
      hm_heap_grew(atomic_load_explicit(&hm_books.heap, memory_order_relaxed));
      e.extra = (uint64_t)usable;
      SetLastError(saved);
    } else {
      err = GetLastError();
      e.err = (uint16_t)err;
      result = HM_RESULT_OS_ERROR;
      hm_uncharge((int64_t)size, 0, 1);
      hm_os_failure(e.level);
    }
  } else {
    e.err = ERROR_NOT_ENOUGH_MEMORY;
  }
  e.result = (uint8_t)result;
  e.addr = (uint64_t)heap, e.size = size, e.ret = (uint64_t)p, e.flags = flags;
  hm_record(&e, frames, nframes);
  if (result != HM_RESULT_OK) flush_now();
  leave();
  heap_answer(result, err, heap, flags, size);
  return p;
}

static LPVOID WINAPI hook_HeapReAlloc(HANDLE heap, DWORD flags, LPVOID old, SIZE_T size) {
  if (!enter()) return HeapReAlloc(heap, flags, old, size);
  hm_event e;
  event_init(&e, HM_OP_HEAP_REALLOC);
  const hm_policy *policy = hm_policy_current();
  SIZE_T before = old ? HeapSize(heap, 0, old) : 0;
  if (before == (SIZE_T)-1 || (old && from_before(old, 0))) before = 0; /* never charged */
  int64_t grow = (int64_t)size - (int64_t)before;
  uint64_t frames[HM_MAX_FRAMES];
  unsigned nframes = 0;
  if (heap_wants_stack(policy, HM_OP_HEAP_REALLOC, size)) {
    nframes = capture(frames);
    if (policy->wire.sample_bytes) e.aflags |= HM_EV_SAMPLED;
  }
  e.level = hm_level_for(policy, HM_OP_HEAP_REALLOC, size, frames, nframes);
  int result = hm_admit(policy, HM_OP_HEAP_REALLOC, e.level, size, grow > 0 ? grow : 0, 0, 1);
  LPVOID q = NULL;
  DWORD err = 0;
  if (result == HM_RESULT_OK) {
    DWORD saved = GetLastError();
    q = HeapReAlloc(heap, flags & ~(DWORD)HEAP_GENERATE_EXCEPTIONS, old, size);
    if (q) {
      if (old) from_before(old, 1);
      int64_t after = (int64_t)size; /* HeapSize of the new block: the size asked */
      atomic_fetch_add_explicit(&hm_books.heap, after - (int64_t)before - (grow > 0 ? grow : 0), memory_order_relaxed);
      heap_charge(heap, after - (int64_t)before);
      hm_heap_grew(atomic_load_explicit(&hm_books.heap, memory_order_relaxed));
      e.extra = (uint64_t)after;
      SetLastError(saved);
    } else {
      err = GetLastError();
      e.err = (uint16_t)err;
      result = HM_RESULT_OS_ERROR;
      if (grow > 0) hm_uncharge(grow, 0, 1);
      hm_os_failure(e.level);
    }
  } else {
    e.err = ERROR_NOT_ENOUGH_MEMORY;
  }
  e.result = (uint8_t)result;
  e.addr = (uint64_t)old, e.size = size, e.ret = (uint64_t)q;
  e.flags = (uint32_t)before; /* the old block's usable size, as realloc on Linux */
  hm_record(&e, frames, nframes);
  if (result != HM_RESULT_OK) flush_now();
  leave();
  heap_answer(result, err, heap, flags, size);
  return q;
}

static BOOL WINAPI hook_HeapFree(HANDLE heap, DWORD flags, LPVOID p) {
  if (!p || !enter()) return HeapFree(heap, flags, p);
  SIZE_T usable = HeapSize(heap, 0, p);
  /* Marked freed before the real free, so that a block another thread gets at the same address is the agent's. */
  int before = from_before(p, 1);
  if (usable == (SIZE_T)-1 || before) usable = 0; /* never charged */
  hm_event e;
  event_init(&e, HM_OP_HEAP_FREE);
  BOOL ok = HeapFree(heap, flags, p);
  DWORD err = GetLastError();
  if (!ok && before) unmark_before(p);
  if (ok) {
    atomic_fetch_sub_explicit(&hm_books.heap, (int64_t)usable, memory_order_relaxed);
    heap_charge(heap, -(int64_t)usable);
  } else {
    e.err = (uint16_t)err, e.result = HM_RESULT_OS_ERROR, usable = 0;
  }
  e.addr = (uint64_t)p, e.extra = usable, e.flags = flags, e.ret = (uint64_t)ok;
  hm_record(&e, NULL, 0);
  leave();
  SetLastError(err);
  return ok;
}

/* ---------------------------------------------------------------------------- modules loaded later, lookups */

static int patch_all(int wait);
static void *hook_for(void *target);

#define LOAD_HOOK(name, T)                                                                                     \
  static HMODULE WINAPI hook_##name(T path) {                                                                  \
    HMODULE m = name(path);                                                                                    \
    DWORD err = GetLastError();                                                                                \
    if (m && tracing() && !busy()) patch_all(0);                                                               \
    SetLastError(err);                                                                                         \
    return m;                                                                                                  \
  }
#define LOAD_EX_HOOK(name, T)                                                                                  \
  static HMODULE WINAPI hook_##name(T path, HANDLE file, DWORD flags) {                                        \
    HMODULE m = name(path, file, flags);                                                                       \
    DWORD err = GetLastError();                                                                                \
    if (m && tracing() && !busy() && !(flags & (LOAD_LIBRARY_AS_DATAFILE | LOAD_LIBRARY_AS_IMAGE_RESOURCE |    \
                                                LOAD_LIBRARY_AS_DATAFILE_EXCLUSIVE)))                          \
      patch_all(0);                                                                                            \
    SetLastError(err);                                                                                         \
    return m;                                                                                                  \
  }
LOAD_HOOK(LoadLibraryA, LPCSTR)
LOAD_HOOK(LoadLibraryW, LPCWSTR)
LOAD_EX_HOOK(LoadLibraryExA, LPCSTR)
LOAD_EX_HOOK(LoadLibraryExW, LPCWSTR)

static FARPROC WINAPI hook_GetProcAddress(HMODULE module, LPCSTR name) {
  FARPROC f = GetProcAddress(module, name);
  if (!f || !tracing()) return f;
  void *hook = hook_for((void *)f);
  return hook ? (FARPROC)hook : f;
}

/* The program is exiting: say everything while the drain thread is still alive (ExitProcess ends it wherever it
 * is, possibly inside a send). DLL_PROCESS_DETACH does the same for exits that do not come through here. */
static void finish(unsigned wait_ms);
static void WINAPI hook_ExitProcess(UINT code) {
  /* The drain thread lives: wait for it to finish its send (hostmem may be slow to read), though never forever. */
  finish(10000);
  ExitProcess(code);
}

/* ------------------------------------------------------------------------------------- import-table patching */

typedef struct hook {
  const char *name;
  void *hook;
  void *real[2]; /* the addresses a module's import may hold: kernel32's export and kernelbase's */
} hook;

#define HOOK(n) {#n, (void *)hook_##n, {NULL, NULL}}
static hook hooks[] = {
    HOOK(VirtualAlloc), HOOK(VirtualAllocEx), HOOK(VirtualFree),    HOOK(VirtualProtect), HOOK(VirtualQuery),
    HOOK(HeapCreate),   HOOK(HeapDestroy),    HOOK(HeapAlloc),      HOOK(HeapReAlloc),    HOOK(HeapFree),
    HOOK(LoadLibraryA), HOOK(LoadLibraryW),   HOOK(LoadLibraryExA), HOOK(LoadLibraryExW), HOOK(GetProcAddress),
    HOOK(ExitProcess),
};
#define N_HOOKS (sizeof hooks / sizeof hooks[0])

static void resolve_hooks(void) {
  HMODULE k32 = GetModuleHandleW(L"kernel32.dll"), kb = GetModuleHandleW(L"kernelbase.dll");
  for (size_t i = 0; i < N_HOOKS; i++) {
    hooks[i].real[0] = k32 ? (void *)GetProcAddress(k32, hooks[i].name) : NULL;
    hooks[i].real[1] = kb ? (void *)GetProcAddress(kb, hooks[i].name) : NULL;
  }
}

static void *hook_for(void *target) {
  for (size_t i = 0; i < N_HOOKS; i++)
    if (target == hooks[i].real[0] || (target && target == hooks[i].real[1])) return hooks[i].hook;
  return NULL;
}

/* The modules whose calls are never patched: the ones that implement the hooked functions, and the agent. */
static int never_patched(HMODULE m) {
  return m == self || m == GetModuleHandleW(L"ntdll.dll") || m == GetModuleHandleW(L"kernel32.dll") ||
         m == GetModuleHandleW(L"kernelbase.dll");
}

static void patch_module(HMODULE m) {
  uint8_t *base = (uint8_t *)m;
  IMAGE_DOS_HEADER *dos = (IMAGE_DOS_HEADER *)base;
  if (dos->e_magic != IMAGE_DOS_SIGNATURE) return;
  IMAGE_NT_HEADERS64 *nt = (IMAGE_NT_HEADERS64 *)(base + dos->e_lfanew);
  if (nt->Signature != IMAGE_NT_SIGNATURE || nt->OptionalHeader.Magic != IMAGE_NT_OPTIONAL_HDR64_MAGIC) return;
  IMAGE_DATA_DIRECTORY dir = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
  if (dir.VirtualAddress == 0 || dir.Size == 0) return;
  for (IMAGE_IMPORT_DESCRIPTOR *d = (IMAGE_IMPORT_DESCRIPTOR *)(base + dir.VirtualAddress); d->Name; d++) {
    for (IMAGE_THUNK_DATA64 *t = (IMAGE_THUNK_DATA64 *)(base + d->FirstThunk); t->u1.Function; t++) {
      void *replacement = hook_for((void *)t->u1.Function);
      if (!replacement) continue;
      DWORD old;
      if (!VirtualProtect(&t->u1.Function, sizeof t->u1.Function, PAGE_READWRITE, &old)) continue;
      atomic_store((_Atomic uint64_t *)&t->u1.Function, (uint64_t)replacement);
      VirtualProtect(&t->u1.Function, sizeof t->u1.Function, old, &old);
    }
  }
}

static HMODULE module_list[2048];
static SRWLOCK patch_lock = SRWLOCK_INIT;

static DWORD list_modules(void) {
  DWORD needed = 0;
  if (!K32EnumProcessModules(GetCurrentProcess(), module_list, sizeof module_list, &needed)) return 0;
  DWORD n = needed / sizeof(HMODULE);
  return n > 2048 ? 2048 : n;
}

/*
 * Lock order: patch_lock, then the loader lock (K32EnumProcessModules takes it). A thread that may already hold the
 * loader lock (a LoadLibrary called from some DllMain) only tries patch_lock: when it is taken, the drain thread
 * patches the new modules within a second instead. Returns 0 when it did not run.
 */
static int patch_all(int wait) {
  int was = busy();
  set_busy(1);
  if (!wait && !TryAcquireSRWLockExclusive(&patch_lock)) {
    set_busy(was);
    return 0;
  }
  if (wait) AcquireSRWLockExclusive(&patch_lock);
  DWORD n = list_modules();
  for (DWORD i = 0; i < n; i++)
    if (!never_patched(module_list[i])) patch_module(module_list[i]);
  ReleaseSRWLockExclusive(&patch_lock);
  set_busy(was);
  return 1;
}

/* ---------------------------------------------------------------------------------------------- the channel */

int hm_platform_send(const void *data, size_t length) {
  const uint8_t *at = data;
  while (length > 0) {
    DWORD n = 0;
    if (!WriteFile(channel, at, length > (1u << 20) ? (1u << 20) : (DWORD)length, &n, NULL)) return -1;
    at += n;
    length -= n;
  }
  return 0;
}

/* Bytes waiting on the pipe; -1 when it broke. Never blocks (a blocking read would hold up our writes). */
static long available(void) {
  DWORD n = 0;
  if (!PeekNamedPipe(channel, NULL, 0, NULL, &n, NULL)) return -1;
  return (long)n;
}

int hm_platform_recv(void *data, size_t length, int timeout_ms) {
  uint8_t *at = data;
  uint64_t deadline = hm_platform_now_ns() + (uint64_t)timeout_ms * 1000000ull;
  while (length > 0) {
    long ready = available();
    if (ready < 0) return -1;
    if (ready == 0) {
      if (hm_platform_now_ns() > deadline) return -1;
      Sleep(1);
      continue;
    }
    DWORD n = 0;
    DWORD want = (DWORD)(length < (size_t)ready ? length : (size_t)ready);
    if (!ReadFile(channel, at, want, &n, NULL) || n == 0) return -1;
    at += n;
    length -= n;
  }
  return 0;
}

/* ------------------------------------------------------------------------------------------ modules (loader) */

static uint32_t module_generation;

static uint32_t modules_generation(void) {
  DWORD n = list_modules();
  uint64_t g = n;
  for (DWORD i = 0; i < n; i++) g = g * 1000003ull ^ (uint64_t)module_list[i];
  return (uint32_t)(g ^ (g >> 32));
}

typedef struct module_frame {
  uint8_t *buffer;
  size_t used, cap;
} module_frame;

/*
 * The MODULES payload when the set changed (or `force`): 1 with *out filled (free it with hm_platform_free_pages),
 * else 0. Takes patch_lock and the loader lock, never drain_lock: a thread holding the loader lock may be waiting
 * for drain_lock (a refusal flushed from inside a DllMain).
 */
static int build_modules(int force, int wait, module_frame *out) {
  if (wait) AcquireSRWLockExclusive(&patch_lock);
  else if (!TryAcquireSRWLockExclusive(&patch_lock)) return 0;
  uint32_t generation = modules_generation();
  if (!force && generation == module_generation) {
    ReleaseSRWLockExclusive(&patch_lock);
    return 0;
  }
  size_t cap = 1u << 20, used = sizeof(hm_modules_header);
  uint8_t *buffer = hm_platform_pages(cap);
  if (!buffer) {
    ReleaseSRWLockExclusive(&patch_lock);
    return 0;
  }
  module_generation = generation;
  DWORD n = list_modules();
  uint32_t count = 0;
  for (DWORD i = 0; i < n; i++) {
    uint8_t *base = (uint8_t *)module_list[i];
    IMAGE_DOS_HEADER *dos = (IMAGE_DOS_HEADER *)base;
    IMAGE_NT_HEADERS64 *nt = (IMAGE_NT_HEADERS64 *)(base + dos->e_lfanew);
    WCHAR wide[MAX_PATH * 2];
    char path[MAX_PATH * 6];
    DWORD wn = GetModuleFileNameW(module_list[i], wide, MAX_PATH * 2);
    int plen = wn ? WideCharToMultiByte(CP_UTF8, 0, wide, (int)wn, path, sizeof path, NULL, NULL) : 0;
    if (plen < 0) plen = 0;
    if (used + sizeof(hm_module) + (size_t)plen > cap) break;
    hm_module m = {(uint64_t)base, (uint64_t)base, (uint64_t)base + nt->OptionalHeader.SizeOfImage, (uint32_t)plen, 0};
    memcpy(buffer + used, &m, sizeof m);
    memcpy(buffer + used + sizeof m, path, (size_t)plen);
    used += sizeof m + (size_t)plen;
    count++;
  }
  ReleaseSRWLockExclusive(&patch_lock);
  hm_modules_header mh = {count, generation};
  memcpy(buffer, &mh, sizeof mh);
  out->buffer = buffer, out->used = used, out->cap = cap;
  return 1;
}

/* Send a built MODULES frame (under drain_lock, or before the drain thread exists) and free it. */
static int send_modules(module_frame *m) {
  int rc = hm_send_frame(HM_MSG_MODULES, m->buffer, m->used);
  hm_platform_free_pages(m->buffer, m->cap);
  return rc;
}

/* ------------------------------------------------------------------------------------------- the drain thread */

static uint8_t *batch; /* HM_BATCH_BYTES */

static DWORD WINAPI drain_main(LPVOID unused) {
  (void)unused;
  set_busy(1); /* nothing this thread does is the program's */
  uint64_t last_counters = 0;
  unsigned idle_ms = 1;
  while (atomic_load(&hm_books.tracing)) {
    AcquireSRWLockExclusive(&drain_lock);
    long sent = hm_drain_once(batch, 2000000000ull);
    ReleaseSRWLockExclusive(&drain_lock);
    if (sent < 0) {
      hm_detach("lost the connection to hostmem");
      break;
    }
    uint64_t now = hm_platform_now_ns();
    if (now - last_counters > 1000000000ull) {
      last_counters = now;
      module_frame m;
      int changed = build_modules(0, 1, &m);
      /* Modules loaded where the LoadLibrary hook could not patch them (it never waits) are patched here. */
      if (changed) patch_all(1);
      AcquireSRWLockExclusive(&drain_lock);
      int rc = (changed ? send_modules(&m) : 0) | hm_send_counters();
      ReleaseSRWLockExclusive(&drain_lock);
      if (rc != 0) {
        hm_detach("lost the connection to hostmem");
        break;
      }
    }
    if (sent > 0) {
      idle_ms = 1;
      continue;
    }
    long ready = available();
    if (ready < 0) {
      hm_detach("hostmem closed the connection");
      break;
    }
    if (ready >= (long)sizeof(hm_frame_header)) {
      hm_frame_header h;
      uint8_t *payload = hm_recv_frame(&h, 1000);
      if (!payload) {
        hm_detach("lost the connection to hostmem");
        break;
      }
      hm_apply_down(&h, payload);
      continue;
    }
    Sleep(idle_ms);
    if (idle_ms < 4) idle_ms *= 2;
  }
  return 0;
}

/* Send everything recorded so far, from the calling thread (the drain thread may be asleep). */
static void flush_now(void) {
  if (!atomic_load(&hm_books.tracing) || channel == INVALID_HANDLE_VALUE) return;
  DWORD err = GetLastError();
  AcquireSRWLockExclusive(&drain_lock);
  long sent;
  while ((sent = hm_drain_once(batch, 100000000ull)) > 0) {
  }
  ReleaseSRWLockExclusive(&drain_lock);
  if (sent < 0) hm_detach("lost the connection to hostmem");
  SetLastError(err);
}

/* ------------------------------------------------------------------------------------------------ start-up */

static HANDLE connect_to_hostmem(const WCHAR *name) {
  for (int attempt = 0; attempt < 50; attempt++) {
    HANDLE h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h != INVALID_HANDLE_VALUE) return h;
    if (GetLastError() != ERROR_PIPE_BUSY) return INVALID_HANDLE_VALUE;
    WaitNamedPipeW(name, 100);
  }
  return INVALID_HANDLE_VALUE;
}

static uint32_t parent_pid(void) {
  PROCESS_BASIC_INFORMATION info;
  ULONG n = 0;
  if (NtQueryInformationProcess(GetCurrentProcess(), ProcessBasicInformation, &info, sizeof info, &n) != 0) return 0;
  return (uint32_t)(uint64_t)info.InheritedFromUniqueProcessId;
}

/* Connect, say hello, and wait for the answer and the policy. 1 = trace, 0 = drop or no hostmem, -1 = failed. */
static int handshake(void) {
  WCHAR name[512];
  DWORD len = GetEnvironmentVariableW(L"HOSTMEM_AGENT_PIPE", name, 512);
  if (len == 0 || len >= 512) return 0;
  channel = connect_to_hostmem(name);
  if (channel == INVALID_HANDLE_VALUE) return -1;
  WCHAR wide[MAX_PATH * 2];
  char exe[4096];
  DWORD wn = GetModuleFileNameW(NULL, wide, MAX_PATH * 2);
  int n = wn ? WideCharToMultiByte(CP_UTF8, 0, wide, (int)wn, exe, sizeof exe, NULL, NULL) : 0;
  if (n < 0) n = 0;
  hm_hello hello = {HM_HELLO_MAGIC,
                    HM_PROTOCOL_VERSION,
                    HM_OS_WINDOWS,
                    (uint32_t)GetCurrentProcessId(),
                    parent_pid(),
                    (uint32_t)page_size,
                    0,
                    hm_platform_now_ns(),
                    realtime_ns(),
                    (uint32_t)hm_events.capacity,
                    HM_MAX_FRAMES,
                    (uint16_t)n};
  uint8_t buffer[sizeof hello + 4096];
  memcpy(buffer, &hello, sizeof hello);
  memcpy(buffer + sizeof hello, exe, (size_t)n);
  if (hm_send_frame(HM_MSG_HELLO, buffer, sizeof hello + (size_t)n) != 0) return -1;
  hm_frame_header h;
  uint8_t *payload = hm_recv_frame(&h, 10000);
  if (!payload || h.type != HM_MSG_WELCOME || h.length < sizeof h + sizeof(hm_welcome)) return -1;
  hm_welcome welcome;
  memcpy(&welcome, payload, sizeof welcome);
  hm_platform_free_pages(payload, h.length - sizeof h + 1);
  if (welcome.decision != HM_DECISION_TRACE) return 0;
  /* The modules before the policy: hostmem resolves call-site rules against them. */
  module_frame m;
  if (!build_modules(1, 1, &m) || send_modules(&m) != 0) return -1;
  payload = hm_recv_frame(&h, 10000);
  if (!payload || h.type != HM_MSG_POLICY) return -1;
  size_t length = h.length - sizeof h;
  hm_policy *policy = hm_policy_parse(payload, length);
  hm_platform_free_pages(payload, length + 1);
  if (!policy) return -1;
  hm_policy_install(policy);
  return 1;
}

static void stop_channel(void) {
  if (channel != INVALID_HANDLE_VALUE) CloseHandle(channel);
  channel = INVALID_HANDLE_VALUE;
}

/* Inside DllMain (the loader lock is held: nothing here loads a DLL or waits for another thread). */
static void start(void) {
  QueryPerformanceFrequency(&qpc_frequency);
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  page_size = si.dwPageSize;
  /* Keep the agent loaded whatever the program does with its handle. */
  HMODULE pinned;
  GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_PIN | GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, (LPCWSTR)(void *)&start,
                     &pinned);
  MODULEINFO info;
  if (K32GetModuleInformation(GetCurrentProcess(), self, &info, sizeof info)) {
    agent_lo = (uint64_t)info.lpBaseOfDll;
    agent_hi = agent_lo + info.SizeOfImage;
  }
  tls_busy_slot = TlsAlloc();
  tls_sample_slot = TlsAlloc();
  if (tls_busy_slot >= 64 || tls_sample_slot >= 64) {
    hm_platform_say("hostmem agent: no TLS slot left in the first 64; the program runs untraced\n");
    atomic_store(&agent_state, AGENT_OFF);
    return;
  }
  set_busy(1);
  int ok = 0;
  batch = hm_platform_pages(HM_BATCH_BYTES);
  if (batch && hm_ring_init(&hm_events, 1u << 17) == 0) {
    resolve_hooks();
    find_blocks_before();
    int decision = handshake();
    if (decision > 0) {
      atomic_store(&hm_books.tracing, 1);
      atomic_store(&agent_state, AGENT_READY);
      /* The thread starts when the loader lock is released (after this DllMain). */
      HANDLE t = CreateThread(NULL, 0, drain_main, NULL, 0, NULL);
      if (t) {
        CloseHandle(t);
        patch_all(1);
        ok = 1;
      } else {
        hm_detach("cannot start its thread");
      }
    } else {
      stop_channel();
      if (decision < 0) {
        hm_platform_say("hostmem agent: cannot reach hostmem; the program runs untraced\n");
      }
    }
  }
  if (!ok) atomic_store(&agent_state, AGENT_OFF);
  set_busy(0);
}

/* Normal exit: the other threads are gone; send what is left, the last counters and BYE. */
static void finish(unsigned wait_ms) {
  if (atomic_load(&agent_state) != AGENT_READY || !atomic_load(&hm_books.tracing)) return;
  set_busy(1);
  module_frame m;
  int changed = build_modules(0, 0, &m);
  /* At DLL_PROCESS_DETACH the drain thread was ended wherever it was: if that was inside a send, the lock stays
   * taken and the stream ends mid-frame, so there is nothing more to say (hostmem has what was flushed). */
  int locked = 0;
  uint64_t deadline = hm_platform_now_ns() + (uint64_t)wait_ms * 1000000ull;
  while (!(locked = TryAcquireSRWLockExclusive(&drain_lock)) && hm_platform_now_ns() < deadline) Sleep(1);
  if (!locked) {
    atomic_store(&hm_books.tracing, 0);
    set_busy(0);
    return;
  }
  long sent;
  while ((sent = hm_drain_once(batch, 100000000ull)) > 0) {
  }
  if (sent == 0) {
    if (changed) send_modules(&m);
    hm_send_counters();
    hm_send_frame(HM_MSG_BYE, NULL, 0);
  }
  atomic_store(&hm_books.tracing, 0);
  ReleaseSRWLockExclusive(&drain_lock);
  set_busy(0);
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
  if (reason == DLL_PROCESS_ATTACH) {
    self = instance;
    DisableThreadLibraryCalls(instance);
    start();
  } else if (reason == DLL_PROCESS_DETACH && reserved != NULL) {
    finish(200);
  }
  return TRUE;
}
