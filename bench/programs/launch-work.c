/* Workloads for bench/launch.bench.ts; each prints its own time for the measured loop (ns), so that start-up (of
 * hostmem, heaptrack or the program) is not in the figure.
 *   malloc N      a malloc-heavy program: builds and frees N small trees (random sizes 16..512 B, memory touched)
 *   mmap N        N pairs of mmap(64 KiB, read-write) + munmap
 *   pairs N       N malloc(32)/free pairs, as fast as they go (the event rate)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct node {
  struct node *left, *right;
  unsigned size;
  unsigned char data[];
} node;

static uint64_t seed = 88172645463325252ull;
static unsigned next(void) {
  seed ^= seed << 13;
  seed ^= seed >> 7;
  seed ^= seed << 17;
  return (unsigned)seed;
}

static node *build(int depth) {
  unsigned size = 16 + next() % 496;
  node *n = malloc(sizeof(node) + size);
  if (!n) abort();
  n->size = size;
  memset(n->data, (int)depth, size);
  n->left = depth > 0 ? build(depth - 1) : NULL;
  n->right = depth > 0 ? build(depth - 1) : NULL;
  return n;
}

static unsigned long walk(node *n) {
  if (!n) return 0;
  unsigned long s = n->data[n->size - 1] + walk(n->left) + walk(n->right);
  free(n);
  return s;
}

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "malloc";
  long count = argc > 2 ? atol(argv[2]) : 100;
  unsigned long sink = 0;
  uint64_t start = now_ns();
  if (!strcmp(what, "malloc")) {
    for (long i = 0; i < count; i++) sink += walk(build(10));
  } else if (!strcmp(what, "mmap")) {
    for (long i = 0; i < count; i++) {
      void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) abort();
      munmap(p, 65536);
    }
  } else if (!strcmp(what, "pairs")) {
    for (long i = 0; i < count; i++) {
      void *p = malloc(32);
      __asm__ volatile("" : : "r"(p) : "memory");
      free(p);
    }
  }
  printf("%llu %lu\n", (unsigned long long)(now_ns() - start), sink);
  return 0;
}
