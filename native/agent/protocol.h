/*
 * hostmem agent protocol, version 1: the one binary protocol between an in-process agent (Linux LD_PRELOAD
 * object, Windows DLL) and hostmem. Written down in docs/spec/agent-protocol.md; this header is its source of
 * truth for C, and main/launch/protocol.ts mirrors it for hostmem (a test compares the two).
 *
 * Transport: one stream connection per traced process (a Unix stream socket on Linux, a named pipe on Windows).
 * Every message, both ways, is a frame: an 8-byte header then its payload. All integers are little-endian.
 */
#ifndef HOSTMEM_AGENT_PROTOCOL_H
#define HOSTMEM_AGENT_PROTOCOL_H

#include <stdint.h>

#define HM_PROTOCOL_VERSION 1u
#define HM_HELLO_MAGIC 0x31414d48u /* "HMA1" */

/* Frame header: length counts the whole frame, header included. */
typedef struct hm_frame_header {
  uint32_t length;
  uint16_t type;
  uint16_t reserved; /* 0 */
} hm_frame_header;

/* Frame types going up (agent → hostmem). */
enum {
  HM_MSG_HELLO = 1,    /* first frame of a connection */
  HM_MSG_EVENTS = 2,   /* a batch of event slots */
  HM_MSG_MODULES = 3,  /* the modules loaded in the process (at start, and again when the set changes) */
  HM_MSG_COUNTERS = 4, /* the agent's own counters (every second, and last) */
  HM_MSG_BYE = 5,      /* the process is exiting normally (atexit / DLL_PROCESS_DETACH) */
};

/* Frame types going down (hostmem → agent). */
enum {
  HM_MSG_WELCOME = 0x81, /* the answer to HELLO: trace or drop */
  HM_MSG_POLICY = 0x82,  /* the whole policy, replacing the previous one */
  HM_MSG_RESET = 0x83,   /* leave the unavailable state */
};

/* HELLO payload (then exe_path_length bytes of UTF-8, no NUL). */
typedef struct hm_hello {
  uint32_t magic;
  uint16_t version;
  uint16_t os; /* HM_OS_* */
  uint32_t pid;
  uint32_t ppid;
  uint32_t page_size;
  uint32_t flags; /* HM_HELLO_* */
  uint64_t monotonic_ns; /* the agent's clock at this instant (event times are on it) */
  uint64_t realtime_ns;  /* the wall clock at the same instant, ns since the Unix epoch */
  uint32_t ring_slots;   /* the agent's ring capacity, in event slots */
  uint16_t max_frames;   /* deepest stack the agent captures */
  uint16_t exe_path_length;
} hm_hello;

enum { HM_OS_LINUX = 1, HM_OS_WINDOWS = 2 };
enum {
  HM_HELLO_FORKED = 1u << 0, /* this process is the child of a traced process (fork) */
};

/* WELCOME payload. A POLICY frame always follows a WELCOME that says trace. */
typedef struct hm_welcome {
  uint32_t decision; /* HM_DECISION_* */
  uint32_t reserved;
} hm_welcome;
enum { HM_DECISION_DROP = 0, HM_DECISION_TRACE = 1 };

/* POLICY payload: this fixed part, then n_faults hm_fault_rule, n_level_rules hm_level_rule, n_ranges hm_range. */
typedef struct hm_policy_wire {
  uint64_t commit_limit;  /* bytes; 0 = none */
  uint64_t reserve_limit; /* bytes; 0 = none */
  uint32_t threshold_permille[3]; /* by level: a request may not push the charge past limit * permille / 1000 */
  uint32_t process_critical_wait_ms;
  uint64_t seed;
  uint64_t sample_bytes; /* heap stacks: one every this many bytes allocated per thread; 0 = every call */
  uint32_t flags;        /* HM_POLICY_* */
  uint8_t default_level;
  uint8_t reserved[3];
  uint16_t n_faults;
  uint16_t n_level_rules;
  uint32_t n_ranges;
} hm_policy_wire;

enum {
  HM_POLICY_UNAVAILABLE = 1u << 0, /* start unavailable (hostmem's host was unavailable when the policy was sent) */
  HM_POLICY_FOLLOW_FORKS = 1u << 1, /* a forked child is traced too (it connects anew); else it runs untraced */
  HM_POLICY_SAMPLED_HEAP = 1u << 2, /* heap calls without a stack that succeed are counted, not sent (COUNTERS) */
};

/* Which calls a rule applies to: a mask of op bits (1u << op), see HM_OP_*; HM_OPS_* are the usual sets. */
typedef struct hm_fault_rule {
  uint64_t op_mask;
  uint8_t level; /* 0..2, or HM_LEVEL_ANY */
  uint8_t kind;  /* HM_FAULT_* */
  uint8_t reserved[6];
  double value; /* probability (0..1], N (every Nth matching call), or bytes (after this many bytes asked) */
} hm_fault_rule;
enum { HM_FAULT_PROBABILITY = 1, HM_FAULT_EVERY_NTH = 2, HM_FAULT_AFTER_BYTES = 3 };
#define HM_LEVEL_ANY 0xffu
#define HM_LEVEL_NONE 0xffu

/* A level rule: the first that matches a call gives its critical level; else the policy's default level. */
typedef struct hm_level_rule {
  uint64_t op_mask;
  uint64_t min_size; /* bytes, inclusive */
  uint64_t max_size; /* bytes, inclusive; 0 = no upper bound */
  uint32_t range_first; /* call-site condition: a frame of the call's stack inside one of these ranges */
  uint32_t range_count; /* 0 = no call-site condition */
  uint8_t level;
  uint8_t reserved[7];
} hm_level_rule;

typedef struct hm_range {
  uint64_t lo; /* inclusive */
  uint64_t hi; /* exclusive */
} hm_range;

/* EVENTS payload: first_seq, then (length - 16) / 64 slots. A slot's mark is the low 32 bits of its sequence
 * number (first_seq + its index), so a lost or repeated slot is seen by the reader. */
typedef struct hm_events_header {
  uint64_t first_seq;
} hm_events_header;

/* One event slot, 64 bytes. An event with frames > 0 is followed by ceil(frames / 7) HM_OP_FRAMES slots. */
typedef struct hm_event {
  uint32_t mark;
  uint8_t op;     /* HM_OP_* */
  uint8_t level;  /* critical level given to the call, or HM_LEVEL_NONE */
  uint8_t result; /* HM_RESULT_* */
  uint8_t prot;   /* mmap / mprotect protection (PROT_* on Linux; the low byte of PAGE_* on Windows) */
  uint32_t tid;
  uint32_t frames; /* stack frames that follow in HM_OP_FRAMES slots */
  uint64_t time_ns; /* the agent's monotonic clock */
  uint64_t addr;    /* the address argument: mmap hint, munmap/mprotect/madvise start, free/realloc pointer */
  uint64_t size;    /* the size argument: length, or the bytes asked of the heap */
  uint64_t ret;     /* the address returned (mmap, mremap, the heap family), or 0 */
  uint64_t extra;   /* heap: the block's usable size; mremap: the old size; mmap: the file offset */
  uint32_t flags;   /* mmap flags, madvise advice, mremap flags, the heap family's alignment */
  uint16_t err;     /* errno (Linux) or last error (Windows) when result is HM_RESULT_OS_ERROR or a refusal */
  uint16_t aflags;  /* HM_EV_* */
} hm_event;

/* A frames slot: its mark, the count of frames it holds (1..7), then the return addresses, innermost first. */
typedef struct hm_frames_slot {
  uint32_t mark;
  uint8_t op; /* HM_OP_FRAMES */
  uint8_t count;
  uint16_t reserved;
  uint64_t pc[7];
} hm_frames_slot;

enum {
  /* the virtual-memory family (Linux) */
  HM_OP_MMAP = 1,
  HM_OP_MUNMAP = 2,
  HM_OP_MPROTECT = 3,
  HM_OP_MADVISE = 4,
  HM_OP_MREMAP = 5,
  /* the heap family */
  HM_OP_MALLOC = 16,
  HM_OP_CALLOC = 17,
  HM_OP_REALLOC = 18,
  HM_OP_FREE = 19,
  HM_OP_POSIX_MEMALIGN = 20,
  HM_OP_ALIGNED_ALLOC = 21,
  HM_OP_MEMALIGN = 22,
  HM_OP_VALLOC = 23,
  HM_OP_PVALLOC = 24,
  /* the virtual-memory family (Windows) */
  HM_OP_VIRTUAL_ALLOC = 32,
  HM_OP_VIRTUAL_FREE = 33,
  HM_OP_VIRTUAL_PROTECT = 34,
  HM_OP_VIRTUAL_QUERY = 35,
  /* Windows heaps */
  HM_OP_HEAP_CREATE = 40,
  HM_OP_HEAP_DESTROY = 41,
  HM_OP_HEAP_ALLOC = 42,
  HM_OP_HEAP_REALLOC = 43,
  HM_OP_HEAP_FREE = 44,
  /* a continuation slot holding stack frames */
  HM_OP_FRAMES = 63,
};

#define HM_OPS_LINUX_VIRTUAL                                                                                   \
  ((1ull << HM_OP_MMAP) | (1ull << HM_OP_MUNMAP) | (1ull << HM_OP_MPROTECT) | (1ull << HM_OP_MADVISE) |          \
   (1ull << HM_OP_MREMAP))
#define HM_OPS_LINUX_HEAP_ALLOC                                                                                \
  ((1ull << HM_OP_MALLOC) | (1ull << HM_OP_CALLOC) | (1ull << HM_OP_REALLOC) | (1ull << HM_OP_POSIX_MEMALIGN) |  \
   (1ull << HM_OP_ALIGNED_ALLOC) | (1ull << HM_OP_MEMALIGN) | (1ull << HM_OP_VALLOC) | (1ull << HM_OP_PVALLOC))

enum {
  HM_RESULT_OK = 0,
  HM_RESULT_REFUSED_POLICY = 1,   /* over the limit for its level */
  HM_RESULT_REFUSED_INJECTED = 2, /* a fault rule fired */
  HM_RESULT_OS_ERROR = 3,         /* the real call failed by itself (err) */
  HM_RESULT_REFUSED_UNAVAILABLE = 4, /* the host was unavailable */
  HM_RESULT_REFUSED_TIMEOUT = 5,  /* an eProcessCritical request waited in vain */
};

enum {
  HM_EV_FILE = 1u << 0,      /* mmap of a file (not anonymous) */
  HM_EV_IN_HEAP = 1u << 1,   /* a mapping made by the allocator inside a hooked heap call: not charged twice */
  HM_EV_COMMITTED = 1u << 2, /* mmap/mremap: the new pages are committed (charged), by the commit rule */
  HM_EV_SHARED = 1u << 3,    /* MAP_SHARED */
  HM_EV_SAMPLED = 1u << 4,   /* heap call whose stack was taken by sampling (weight: sample_bytes) */
};

/* MODULES payload: count, then per module an hm_module followed by path_length bytes of UTF-8. */
typedef struct hm_modules_header {
  uint32_t count;
  uint32_t generation; /* changes whenever the set of modules changes */
} hm_modules_header;
typedef struct hm_module {
  uint64_t load_bias; /* added to an ELF virtual address (or an RVA on Windows) to get the address in memory */
  uint64_t start;     /* lowest mapped address of the module's loadable segments */
  uint64_t end;       /* one past the highest */
  uint32_t path_length;
  uint32_t reserved;
} hm_module;

/* COUNTERS payload. */
typedef struct hm_counters {
  uint64_t events;      /* event slots written (frames slots included) */
  uint64_t nested;      /* hooked calls passed through unrecorded: made while the agent was busy on that thread
                           (its own work, or a signal handler interrupting it) */
  uint64_t early;       /* hooked calls passed through before the agent was ready */
  uint64_t skipped;     /* slots abandoned by a writer that never finished (given up after a timeout) */
  uint64_t committed;   /* the agent's charge: committed bytes of the virtual family */
  uint64_t reserved;    /* mapped bytes of the virtual family */
  uint64_t heap;        /* live heap bytes (usable sizes) */
  uint64_t waits;       /* times a writer waited for room in the ring */
  uint32_t state;       /* HM_STATE_* */
  uint32_t reserved2;
  /* Under HM_POLICY_SAMPLED_HEAP: what was counted and not sent. */
  uint64_t heap_peak;     /* the highest `heap` so far */
  uint64_t unsent[9];     /* successful calls of ops HM_OP_MALLOC .. HM_OP_PVALLOC not sent, by op */
  uint64_t unsent_frees;  /* frees of blocks whose allocation was not sent */
  uint64_t unsent_bytes;  /* bytes asked by the allocations not sent */
} hm_counters;

enum { HM_STATE_AVAILABLE = 0, HM_STATE_UNAVAILABLE = 1 };

#endif
