/* A program whose memory calls hostmem's tests know in advance: each step prints what it did and what it got, so
 * a test compares the books with the program's own view. Steps are chosen by the first argument:
 *   known     every hooked call once, with known sizes (the test checks each is seen exactly once)
 *   faults N  N mallocs of 1000 bytes; prints how many returned NULL with errno ENOMEM
 *   leak N    N blocks of 4096 bytes from leak_here(), never freed
 *   critical  1 MiB mallocs from critical_alloc() until one fails
 *   fork      forks a child that mallocs 12345 bytes (and frees them), waits for it
 *   exec      forks a child that execs this program with "known"
 *   threads T S  T threads, each malloc/free pairs for S seconds; prints the total count of pairs
 *   sleep S   sleeps S seconds, mallocing 100 bytes every ms (a program to kill mid-run)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void known(void) {
  char *r = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mmap %p\n", (void *)r);
  printf("mprotect %d\n", mprotect(r, 1 << 16, PROT_READ | PROT_WRITE));
  memset(r, 7, 1 << 16);
  printf("madvise %d\n", madvise(r, 1 << 15, MADV_DONTNEED));
  printf("munmap %d\n", munmap(r, 1 << 20));
  char *m = mmap(NULL, 3 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mmap2 %p\n", (void *)m);
  char *g = mremap(m, 3 << 16, 6 << 16, MREMAP_MAYMOVE);
  printf("mremap %p\n", (void *)g);
  printf("munmap2 %d\n", munmap(g, 6 << 16));
  void *a = malloc(1000);
  printf("malloc %p\n", a);
  void *b = calloc(10, 100);
  void *c = realloc(a, 5000);
  void *d = NULL;
  int rc = posix_memalign(&d, 64, 3000);
  void *e = aligned_alloc(256, 2048);
  void *f = memalign(128, 1500);
  void *v = valloc(100);
  printf("heap %p %p %d %p %p %p %p\n", b, c, rc, d, e, f, v);
  free(b);
  free(c);
  free(d);
  free(e);
  free(f);
  free(v);
  fflush(stdout);
}

static int faults(int n) {
  int refused = 0;
  for (int i = 0; i < n; i++) {
    errno = 0;
    void *p = malloc(1000);
    if (!p && errno == ENOMEM) refused++;
    free(p);
  }
  printf("refused %d of %d\n", refused, n);
  return 0;
}

__attribute__((noinline)) static void *leak_here(size_t n) {
  void *p = malloc(n);
  if (p) memset(p, 1, n);
  return p;
}

__attribute__((noinline)) static void *critical_alloc(size_t n) {
  void *p = malloc(n);
  if (p) memset(p, 1, n);
  return p;
}

static atomic_long pairs;
static int seconds;

static void *thread_main(void *unused) {
  (void)unused;
  time_t end = time(NULL) + seconds;
  long n = 0;
  while (time(NULL) < end) {
    for (int i = 0; i < 1000; i++) {
      void *p = malloc(16 + (size_t)(i % 64) * 8);
      __asm__ volatile("" : : "r"(p) : "memory");
      free(p);
    }
    n += 1000;
  }
  atomic_fetch_add(&pairs, n);
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *step = argc > 1 ? argv[1] : "known";
  if (!strcmp(step, "known")) known();
  else if (!strcmp(step, "faults")) return faults(argc > 2 ? atoi(argv[2]) : 10);
  else if (!strcmp(step, "leak")) {
    int n = argc > 2 ? atoi(argv[2]) : 100, leaked = 0;
    for (int i = 0; i < n; i++) leaked += leak_here(4096) != NULL;
    printf("leaked %d of %d\n", leaked, n);
  } else if (!strcmp(step, "critical")) {
    int got = 0;
    while (critical_alloc(1 << 20)) got++;
    printf("got %d\n", got);
    return 4;
  } else if (!strcmp(step, "fork")) {
    pid_t pid = fork();
    if (pid == 0) {
      void *p = malloc(12345);
      printf("child %p\n", p);
      free(p);
      _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child exited %d\n", WEXITSTATUS(status));
  } else if (!strcmp(step, "exec")) {
    pid_t pid = fork();
    if (pid == 0) {
      execl("/proc/self/exe", argv[0], "known", (char *)NULL);
      _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child exited %d\n", WEXITSTATUS(status));
  } else if (!strcmp(step, "threads")) {
    int t = argc > 2 ? atoi(argv[2]) : 8;
    seconds = argc > 3 ? atoi(argv[3]) : 2;
    pthread_t ids[64];
    for (int i = 0; i < t && i < 64; i++) pthread_create(&ids[i], NULL, thread_main, NULL);
    for (int i = 0; i < t && i < 64; i++) pthread_join(ids[i], NULL);
    printf("pairs %ld\n", atomic_load(&pairs));
  } else if (!strcmp(step, "sleep")) {
    int ms = (argc > 2 ? atoi(argv[2]) : 5) * 1000;
    for (int i = 0; i < ms; i++) {
      void *p = malloc(100);
      __asm__ volatile("" : : "r"(p) : "memory"); /* kept: a malloc/free pair the compiler may not remove */
      free(p);
      usleep(1000);
    }
    printf("slept\n");
  } else {
    fprintf(stderr, "unknown step %s\n", step);
    return 2;
  }
  return 0;
}
