/**
 * An example hostmem workload script.
 *
 *   hostmem run --script examples/workload.mjs [--seed 7] [--duration 30s] [--rate 200]
 *
 * A workload script is an ES module whose default export is `async function (host, ctx)`. It runs in a worker
 * thread: it cannot take the monitor down, and whatever it leaves allocated is released for it when it ends.
 *
 * `host` has the IHostMemoryManager methods (VirtualAlloc, VirtualFree, VirtualQuery, VirtualProtect,
 * GetMemoryLoad, RegisterMemoryNotificationCallback, NeedsVirtualAddressSpace, AcquiredVirtualAddressSpace,
 * ReleasedVirtualAddressSpace, CreateMalloc) plus Fill, Check, stats() and policy(); `host.malloc(id)` gives a heap
 * made by CreateMalloc (Alloc, DebugAlloc, Free). Every method returns a Promise of a result with an `hr`
 * (0 is S_OK); arguments are numbers, strings or null. `host.pageSize`, `host.allocationGranularity` and
 * `host.backend` are plain values.
 *
 * `ctx` has `rng()` (seeded: the same --seed gives the same run), `sleep(ms)` (resolves false when the workload is
 * being stopped), `pace()` (holds --rate), `signal` (an AbortSignal), `stopping`, `log(message)`, `elapsed()`.
 *
 * This one does twenty rounds of: reserve, commit half, write and check it, query it, make a page read-only,
 * decommit, release; and once, a heap block. Then it returns.
 */

// Win32 constants (the host speaks the Win32 vocabulary on every OS).
const MEM_COMMIT = 0x1000;
const MEM_RESERVE = 0x2000;
const MEM_DECOMMIT = 0x4000;
const MEM_RELEASE = 0x8000;
const PAGE_READONLY = 0x02;
const PAGE_READWRITE = 0x04;
const S_OK = 0;
const eTaskCritical = 0;
const eAppDomainCritical = 1;

const hex = (n) => '0x' + (n >>> 0).toString(16).toUpperCase().padStart(8, '0');

export default async function workload(host, ctx) {
  const page = host.pageSize;
  const rounds = 20;
  ctx.log(`example: ${rounds} rounds on the ${host.backend} backend (page ${page} bytes), seed ${ctx.seed}`);

  for (let round = 1; round <= rounds; round++) {
    if (!(await ctx.pace())) break; // stopped, or past --duration
    const pages = 4 + Math.floor(ctx.rng() * 28); // 4..31 pages
    const level = ctx.rng() < 0.8 ? eTaskCritical : eAppDomainCritical;

    // 1. Reserve address space (no commit charge yet).
    const reserved = await host.VirtualAlloc(null, pages * page, MEM_RESERVE, PAGE_READWRITE, level, 'example/buffer');
    if (reserved.hr !== S_OK) {
      ctx.log(`round ${round}: reserve refused with ${hex(reserved.hr)} (${reserved.reason})`);
      continue;
    }
    const base = reserved.address;

    // 2. Commit the first half, 3. write a byte into it and read it back.
    const half = Math.max(1, Math.floor(pages / 2)) * page;
    const committed = await host.VirtualAlloc(base, half, MEM_COMMIT, PAGE_READWRITE, level, 'example/buffer');
    if (committed.hr === S_OK) {
      const byte = 1 + Math.floor(ctx.rng() * 255);
      await host.Fill(base, half, byte);
      const check = await host.Check(base, half, byte);
      if (!check.equal) ctx.log(`round ${round}: memory did not hold ${byte}!`);

      // 4. What does the OS say about it?
      const query = await host.VirtualQuery(base);
      if (query.hr === S_OK && round % 5 === 0) {
        ctx.log(`round ${round}: ${query.info.state} ${query.info.regionSize} bytes, tag ${query.info.tag}`);
      }

      // 5. Make the first page read-only: it can still be read (a Fill would now fail with ERROR_NOACCESS).
      const protect = await host.VirtualProtect(base, page, PAGE_READONLY);
      if (protect.hr === S_OK) await host.Check(base, page, byte);

      // 6. Decommit (the pages stay reserved).
      await host.VirtualFree(base, half, MEM_DECOMMIT);
    } else {
      ctx.log(`round ${round}: commit refused with ${hex(committed.hr)} (${committed.reason})`);
    }

    // 7. Release the reservation.
    await host.VirtualFree(base, 0, MEM_RELEASE);

    // Once: a host heap and a block in it.
    if (round === 10) {
      const heap = await host.CreateMalloc(0);
      if (heap.hr === S_OK) {
        const block = await host.malloc(heap.malloc).DebugAlloc(4096, eTaskCritical, 'workload.mjs', 86);
        if (block.hr === S_OK) {
          await host.Fill(block.address, 4096, 0xab);
          await host.malloc(heap.malloc).Free(block.address);
        }
      }
      const load = await host.GetMemoryLoad();
      ctx.log(`round ${round}: memory load ${load.memoryLoad}%`);
    }

    // A short random pause; false means the workload is being stopped.
    if (!(await ctx.sleep(10 + Math.floor(ctx.rng() * 40)))) break;
  }
  ctx.log('example: done');
}
