/* Prints protocol.h's constants and layouts as JSON, for main/launch/protocol.test.ts to compare with protocol.ts. */
#include <stddef.h>
#include <stdio.h>

#include "../../../native/agent/protocol.h"

#define OFF(t, f) printf("\"%s.%s\":%zu,", #t, #f, offsetof(t, f))
#define SIZE(t) printf("\"%s\":%zu,", #t, sizeof(t))
#define VAL(n) printf("\"%s\":%llu,", #n, (unsigned long long)(n))

int main(void) {
  printf("{");
  VAL(HM_PROTOCOL_VERSION); VAL(HM_HELLO_MAGIC);
  VAL(HM_MSG_HELLO); VAL(HM_MSG_EVENTS); VAL(HM_MSG_MODULES); VAL(HM_MSG_COUNTERS); VAL(HM_MSG_BYE);
  VAL(HM_MSG_WELCOME); VAL(HM_MSG_POLICY); VAL(HM_MSG_RESET);
  VAL(HM_OS_LINUX); VAL(HM_OS_WINDOWS); VAL(HM_HELLO_FORKED); VAL(HM_DECISION_DROP); VAL(HM_DECISION_TRACE);
  VAL(HM_POLICY_UNAVAILABLE); VAL(HM_POLICY_FOLLOW_FORKS); VAL(HM_POLICY_SAMPLED_HEAP);
  VAL(HM_FAULT_PROBABILITY); VAL(HM_FAULT_EVERY_NTH); VAL(HM_FAULT_AFTER_BYTES); VAL(HM_LEVEL_ANY); VAL(HM_LEVEL_NONE);
  VAL(HM_OP_MMAP); VAL(HM_OP_MUNMAP); VAL(HM_OP_MPROTECT); VAL(HM_OP_MADVISE); VAL(HM_OP_MREMAP);
  VAL(HM_OP_MALLOC); VAL(HM_OP_CALLOC); VAL(HM_OP_REALLOC); VAL(HM_OP_FREE); VAL(HM_OP_POSIX_MEMALIGN);
  VAL(HM_OP_ALIGNED_ALLOC); VAL(HM_OP_MEMALIGN); VAL(HM_OP_VALLOC); VAL(HM_OP_PVALLOC);
  VAL(HM_OP_VIRTUAL_ALLOC); VAL(HM_OP_VIRTUAL_FREE); VAL(HM_OP_VIRTUAL_PROTECT); VAL(HM_OP_VIRTUAL_QUERY);
  VAL(HM_OP_HEAP_CREATE); VAL(HM_OP_HEAP_DESTROY); VAL(HM_OP_HEAP_ALLOC); VAL(HM_OP_HEAP_REALLOC); VAL(HM_OP_HEAP_FREE);
  VAL(HM_OP_FRAMES);
  VAL(HM_RESULT_OK); VAL(HM_RESULT_REFUSED_POLICY); VAL(HM_RESULT_REFUSED_INJECTED); VAL(HM_RESULT_OS_ERROR);
  VAL(HM_RESULT_REFUSED_UNAVAILABLE); VAL(HM_RESULT_REFUSED_TIMEOUT);
  VAL(HM_EV_FILE); VAL(HM_EV_IN_HEAP); VAL(HM_EV_COMMITTED); VAL(HM_EV_SHARED); VAL(HM_EV_SAMPLED);
  VAL(HM_STATE_AVAILABLE); VAL(HM_STATE_UNAVAILABLE);
  SIZE(hm_frame_header); SIZE(hm_hello); SIZE(hm_event); SIZE(hm_frames_slot); SIZE(hm_policy_wire);
  SIZE(hm_fault_rule); SIZE(hm_level_rule); SIZE(hm_range); SIZE(hm_module); SIZE(hm_modules_header); SIZE(hm_counters);
  OFF(hm_hello, magic); OFF(hm_hello, version); OFF(hm_hello, os); OFF(hm_hello, pid); OFF(hm_hello, ppid);
  OFF(hm_hello, page_size); OFF(hm_hello, flags); OFF(hm_hello, monotonic_ns); OFF(hm_hello, realtime_ns);
  OFF(hm_hello, ring_slots); OFF(hm_hello, max_frames); OFF(hm_hello, exe_path_length);
  OFF(hm_event, mark); OFF(hm_event, op); OFF(hm_event, level); OFF(hm_event, result); OFF(hm_event, prot);
  OFF(hm_event, tid); OFF(hm_event, frames); OFF(hm_event, time_ns); OFF(hm_event, addr); OFF(hm_event, size);
  OFF(hm_event, ret); OFF(hm_event, extra); OFF(hm_event, flags); OFF(hm_event, err); OFF(hm_event, aflags);
  OFF(hm_frames_slot, count); OFF(hm_frames_slot, pc);
  OFF(hm_policy_wire, commit_limit); OFF(hm_policy_wire, reserve_limit); OFF(hm_policy_wire, threshold_permille);
  OFF(hm_policy_wire, process_critical_wait_ms); OFF(hm_policy_wire, seed); OFF(hm_policy_wire, sample_bytes);
  OFF(hm_policy_wire, flags); OFF(hm_policy_wire, default_level); OFF(hm_policy_wire, n_faults);
  OFF(hm_policy_wire, n_level_rules); OFF(hm_policy_wire, n_ranges);
  OFF(hm_fault_rule, op_mask); OFF(hm_fault_rule, level); OFF(hm_fault_rule, kind); OFF(hm_fault_rule, value);
  OFF(hm_level_rule, op_mask); OFF(hm_level_rule, min_size); OFF(hm_level_rule, max_size);
  OFF(hm_level_rule, range_first); OFF(hm_level_rule, range_count); OFF(hm_level_rule, level);
  OFF(hm_module, load_bias); OFF(hm_module, start); OFF(hm_module, end); OFF(hm_module, path_length);
  OFF(hm_counters, events); OFF(hm_counters, nested); OFF(hm_counters, early); OFF(hm_counters, skipped);
  OFF(hm_counters, committed); OFF(hm_counters, reserved); OFF(hm_counters, heap); OFF(hm_counters, waits);
  OFF(hm_counters, state); OFF(hm_counters, heap_peak); OFF(hm_counters, unsent); OFF(hm_counters, unsent_frees);
  OFF(hm_counters, unsent_bytes);
  printf("\"end\":0}\n");
  return 0;
}
