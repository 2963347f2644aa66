/* The agent's side of the channel: see channel.h. */
#include "channel.h"

#include <string.h>

static _Atomic int said_detached;

int hm_send_frame(uint16_t type, const void *payload, size_t length) {
  hm_frame_header h = {(uint32_t)(sizeof h + length), type, 0};
  if (hm_platform_send(&h, sizeof h) != 0) return -1;
  return length ? hm_platform_send(payload, length) : 0;
}

uint8_t *hm_recv_frame(hm_frame_header *h, int timeout_ms) {
  if (hm_platform_recv(h, sizeof *h, timeout_ms) != 0 || h->length < sizeof *h || h->length > (64u << 20)) return NULL;
  size_t length = h->length - sizeof *h;
  uint8_t *payload = hm_platform_pages(length + 1);
  if (!payload) return NULL;
  if (length && hm_platform_recv(payload, length, 10000) != 0) {
    hm_platform_free_pages(payload, length + 1);
    return NULL;
  }
  return payload;
}

long hm_drain_once(uint8_t *batch, uint64_t stall_ns) {
  hm_event *slots = (hm_event *)(batch + sizeof(hm_frame_header) + sizeof(hm_events_header));
  uint64_t first;
  size_t n = hm_ring_read(&hm_events, slots, HM_BATCH_SLOTS, &first, stall_ns);
  if (n == 0) return 0;
  hm_frame_header h = {(uint32_t)(sizeof h + sizeof(hm_events_header) + n * sizeof(hm_event)), HM_MSG_EVENTS, 0};
  memcpy(batch, &h, sizeof h);
  memcpy(batch + sizeof h, &first, sizeof first);
  return hm_platform_send(batch, h.length) == 0 ? (long)n : -1;
}

int hm_send_counters(void) {
  hm_counters c;
  hm_counters_fill(&c);
  return hm_send_frame(HM_MSG_COUNTERS, &c, sizeof c);
}

hm_policy *hm_apply_down(const hm_frame_header *h, uint8_t *payload) {
  size_t length = h->length - sizeof *h;
  hm_policy *installed = NULL;
  if (h->type == HM_MSG_POLICY) {
    installed = hm_policy_parse(payload, length);
    if (installed) {
      atomic_store(&hm_books.unavailable, 0);
      hm_policy_install(installed);
    }
  } else if (h->type == HM_MSG_RESET) {
    atomic_store(&hm_books.unavailable, 0);
  }
  hm_platform_free_pages(payload, length + 1);
  return installed;
}

void hm_detach(const char *why) {
  int expected = 0;
  atomic_store(&hm_books.tracing, 0);
  if (atomic_compare_exchange_strong(&said_detached, &expected, 1)) {
    hm_platform_say("hostmem agent: ");
    hm_platform_say(why);
    hm_platform_say("; the program runs on untouched from here on\n");
  }
}
