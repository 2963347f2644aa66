/* A Windows program whose memory calls hostmem's tests know in advance (the Windows twin of calls.c). It prints
 * with WriteFile only (no C runtime buffers: its own heap calls would blur the counts). Steps, by first argument:
 *   known      every hooked call once, with known sizes; prints each address and result
 *   vfaults N  N VirtualAlloc(64 KiB, reserve+commit) then N VirtualAlloc(64 KiB, reserve): how many NULL, and
 *              whether every NULL came with the last error Windows gives (ERROR_COMMITMENT_LIMIT / NOT_ENOUGH_MEMORY)
 *   hfaults N  N HeapAlloc(1000) on a private heap, then N with HEAP_GENERATE_EXCEPTIONS: NULLs and
 *              STATUS_NO_MEMORY exceptions seen
 *   bench N    N VirtualAlloc/VirtualFree pairs and N HeapAlloc/HeapFree pairs; prints ns per pair of each
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out(const char *format, ...) {
  char line[512];
  va_list ap;
  va_start(ap, format);
  int n = vsnprintf(line, sizeof line, format, ap);
  va_end(ap);
  DWORD written;
  WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), line, n > 0 ? (DWORD)n : 0, &written, NULL);
}

__declspec(noinline) void known_calls(void) {
  char *r = VirtualAlloc(NULL, 1 << 20, MEM_RESERVE, PAGE_NOACCESS);
  out("reserve %p\n", (void *)r);
  char *c = VirtualAlloc(r, 1 << 16, MEM_COMMIT, PAGE_READWRITE);
  out("commit %p\n", (void *)c);
  memset(c, 7, 1 << 16);
  DWORD old = 0;
  out("protect %d %lu\n", (int)VirtualProtect(r, 4096, PAGE_READONLY, &old), (unsigned long)old);
  MEMORY_BASIC_INFORMATION mbi;
  out("query %llu %lx\n", (unsigned long long)VirtualQuery(r, &mbi, sizeof mbi), (unsigned long)mbi.State);
  out("decommit %d\n", (int)VirtualFree(r, 1 << 15, MEM_DECOMMIT));
  out("release %d\n", (int)VirtualFree(r, 0, MEM_RELEASE));
  char *b = VirtualAlloc(NULL, 3 << 16, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  out("both %p\n", (void *)b);
  out("release2 %d\n", (int)VirtualFree(b, 0, MEM_RELEASE));
  HANDLE h = HeapCreate(0, 0, 0);
  void *a1 = HeapAlloc(h, 0, 1000);
  void *a2 = HeapAlloc(h, HEAP_ZERO_MEMORY, 5000);
  void *a3 = HeapReAlloc(h, 0, a1, 3000);
  out("heap %p %p %p %p\n", (void *)h, a1, a2, a3);
  out("sizes %llu %llu\n", (unsigned long long)HeapSize(h, 0, a2), (unsigned long long)HeapSize(h, 0, a3));
  out("heapfree %d\n", (int)HeapFree(h, 0, a2));
  void *a4 = HeapAlloc(h, 0, 777);
  out("left %p\n", a4);
  out("destroy %d\n", (int)HeapDestroy(h));
}

__declspec(noinline) int vfaults(int n) {
  int refused = 0, right = 0;
  for (int i = 0; i < n; i++) {
    SetLastError(0);
    void *p = VirtualAlloc(NULL, 1 << 16, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!p) {
      refused++;
      if (GetLastError() == ERROR_COMMITMENT_LIMIT) right++;
    } else {
      VirtualFree(p, 0, MEM_RELEASE);
    }
  }
  int refused2 = 0, right2 = 0;
  for (int i = 0; i < n; i++) {
    SetLastError(0);
    void *p = VirtualAlloc(NULL, 1 << 16, MEM_RESERVE, PAGE_NOACCESS);
    if (!p) {
      refused2++;
      if (GetLastError() == ERROR_NOT_ENOUGH_MEMORY) right2++;
    } else {
      VirtualFree(p, 0, MEM_RELEASE);
    }
  }
  out("commit refused %d of %d, %d with ERROR_COMMITMENT_LIMIT\n", refused, n, right);
  out("reserve refused %d of %d, %d with ERROR_NOT_ENOUGH_MEMORY\n", refused2, n, right2);
  return 0;
}

static volatile LONG no_memory;
static LONG CALLBACK on_exception(EXCEPTION_POINTERS *info) {
  if (info->ExceptionRecord->ExceptionCode != (DWORD)STATUS_NO_MEMORY) return EXCEPTION_CONTINUE_SEARCH;
  InterlockedIncrement(&no_memory);
  return EXCEPTION_CONTINUE_EXECUTION;
}

__declspec(noinline) int hfaults(int n) {
  HANDLE h = HeapCreate(0, 0, 0);
  int nulls = 0;
  for (int i = 0; i < n; i++) {
    void *p = HeapAlloc(h, 0, 1000);
    if (!p) nulls++;
  }
  AddVectoredExceptionHandler(1, on_exception);
  int nulls2 = 0;
  for (int i = 0; i < n; i++) {
    void *p = HeapAlloc(h, HEAP_GENERATE_EXCEPTIONS, 1000);
    if (!p) nulls2++;
  }
  out("heap refused %d of %d\n", nulls, n);
  out("exceptions %ld for %d NULLs\n", (long)no_memory, nulls2);
  HeapDestroy(h);
  return 0;
}

static double now_ns(void) {
  LARGE_INTEGER c, f;
  QueryPerformanceCounter(&c);
  QueryPerformanceFrequency(&f);
  return (double)c.QuadPart * 1e9 / (double)f.QuadPart;
}

__declspec(noinline) int bench(int n) {
  double t0 = now_ns();
  for (int i = 0; i < n; i++) {
    void *p = VirtualAlloc(NULL, 1 << 16, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    VirtualFree(p, 0, MEM_RELEASE);
  }
  double t1 = now_ns();
  HANDLE h = GetProcessHeap();
  for (int i = 0; i < n; i++) {
    void *p = HeapAlloc(h, 0, 64);
    HeapFree(h, 0, p);
  }
  double t2 = now_ns();
  out("virtual %.1f ns/pair\nheap %.1f ns/pair\n", (t1 - t0) / n, (t2 - t1) / n);
  return 0;
}

int main(int argc, char **argv) {
  const char *step = argc > 1 ? argv[1] : "known";
  int n = argc > 2 ? atoi(argv[2]) : 0;
  if (!strcmp(step, "known")) known_calls();
  else if (!strcmp(step, "vfaults")) return vfaults(n);
  else if (!strcmp(step, "hfaults")) return hfaults(n);
  else if (!strcmp(step, "bench")) return bench(n);
  else {
    out("unknown step %s\n", step);
    return 2;
  }
  return 0;
}
