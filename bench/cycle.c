/*
 * The C baseline of `npm run bench:host`: the same reserve -> commit -> decommit -> release cycle as the host and
 * the raw layer, straight on the OS, with the same guarantee (every reservation starts on a 64 KiB boundary; the
 * rest of its last granule stays free).
 *
 * The calls are the ones the posix backend makes, which are the fewest that keep that guarantee and leave the
 * reserved/committed state readable in /proc/self/smaps:
 *   reserve  = mmap(hint, len, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE); when the OS does not land
 *              on a 64 KiB boundary: munmap, mmap(len + 64 KiB - page) and trim both ends with munmap;
 *   commit   = mprotect(prot);
 *   decommit = mmap(MAP_FIXED, PROT_NONE, MAP_NORESERVE) over the pages (content and charge dropped);
 *   release  = munmap.
 * The hint is the last released reservation, else the granule below the last one made.
 *
 * A persistent child of the benchmark: it reads commands on stdin and answers one line each on stdout, so live
 * regions are held across rounds and rounds interleave with the JavaScript ones.
 *   live N             hold N reservations of 64 KiB (more are added; never fewer)  -> "ok N"
 *   cycle SIZE COUNT   run COUNT cycles of SIZE bytes                                -> "us <µs per cycle> <misses>"
 *   quit
 * Built by bench/host.bench.ts with the system C compiler (cc -O2); Linux only (MAP_NORESERVE semantics).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GRANULARITY 0x10000UL
#define FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

static uintptr_t page_size;
static uintptr_t hint;
static unsigned long misses;

static uintptr_t round_up(uintptr_t n, uintptr_t to) { return (n + to - 1) / to * to; }

static uintptr_t reserve(size_t size) {
  size_t len = round_up(size, page_size);
  void *p = mmap((void *)hint, len, PROT_NONE, FLAGS, -1, 0);
  if (p == MAP_FAILED) return 0;
  uintptr_t base = (uintptr_t)p;
  if (base % GRANULARITY != 0) {
    misses++;
    munmap(p, len);
    size_t span = len + GRANULARITY - page_size;
    p = mmap(NULL, span, PROT_NONE, FLAGS, -1, 0);
    if (p == MAP_FAILED) return 0;
    base = round_up((uintptr_t)p, GRANULARITY);
    if (base > (uintptr_t)p) munmap(p, base - (uintptr_t)p);
    uintptr_t tail = (uintptr_t)p + span - (base + len);
    if (tail > 0) munmap((void *)(base + len), tail);
  }
  uintptr_t below = round_up(len, GRANULARITY);
  hint = base > below ? base - below : 0;
  return base;
}

static int commit(uintptr_t a, size_t len) { return mprotect((void *)a, len, PROT_READ | PROT_WRITE); }

static int decommit(uintptr_t a, size_t len) {
  return mmap((void *)a, len, PROT_NONE, FLAGS | MAP_FIXED, -1, 0) == MAP_FAILED ? -1 : 0;
}

static int release(uintptr_t a, size_t len) {
  if (munmap((void *)a, len) != 0) return -1;
  hint = a;
  return 0;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(void) {
  page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
  size_t held = 0;
  char line[256];
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    unsigned long a = 0, b = 0;
    if (sscanf(line, "live %lu", &a) == 1) {
      while (held < a) {
        if (reserve(GRANULARITY) == 0) {
          printf("error reserve failed at %zu live\n", held);
          break;
        }
        held++;
      }
      printf("ok %zu\n", held);
    } else if (sscanf(line, "cycle %lu %lu", &a, &b) == 2) {
      misses = 0;
      double t0 = now_us();
      for (unsigned long i = 0; i < b; i++) {
        uintptr_t p = reserve(a);
        if (p == 0 || commit(p, a) != 0 || decommit(p, a) != 0 || release(p, a) != 0) {
          printf("error cycle failed\n");
          goto next;
        }
      }
      printf("us %.4f %lu\n", (now_us() - t0) / (double)b, misses);
    next:;
    } else if (strncmp(line, "quit", 4) == 0) {
      break;
    } else {
      printf("error unknown command\n");
    }
  }
  return 0;
}
