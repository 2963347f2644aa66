/*
 * The agent's side of the channel, the same on every OS: frames up (events, counters), frames down (policy, reset),
 * and leaving quietly when hostmem goes away. The bytes themselves go through hm_platform_send / hm_platform_recv
 * (a Unix socket, a named pipe). Nothing here allocates through a hooked function.
 */
#ifndef HOSTMEM_AGENT_CHANNEL_H
#define HOSTMEM_AGENT_CHANNEL_H

#include "core.h"

/* ---- what each OS provides */
int hm_platform_send(const void *data, size_t length);              /* all of it, or -1 */
int hm_platform_recv(void *data, size_t length, int timeout_ms);    /* all of it within the time, or -1 */
void hm_platform_say(const char *text);                             /* to the program's stderr, unbuffered */

#define HM_BATCH_SLOTS 1024
/* Bytes of a batch buffer for hm_drain_once: frame header, first_seq, HM_BATCH_SLOTS slots. */
#define HM_BATCH_BYTES (sizeof(hm_frame_header) + sizeof(hm_events_header) + HM_BATCH_SLOTS * sizeof(hm_event))

int hm_send_frame(uint16_t type, const void *payload, size_t length);
/* One frame from hostmem, its payload in a buffer from hm_platform_pages (length - header + 1 bytes); NULL when
 * the channel broke, timed out or sent nonsense. */
uint8_t *hm_recv_frame(hm_frame_header *h, int timeout_ms);
/* Send what the ring holds, one EVENTS frame; returns the slots sent, or -1 when the channel broke. */
long hm_drain_once(uint8_t *batch, uint64_t stall_ns);
int hm_send_counters(void);
/* Apply a frame from hostmem and free its payload; returns the policy it installed, or NULL. */
hm_policy *hm_apply_down(const hm_frame_header *h, uint8_t *payload);
/* Stop tracing, and say why once on stderr. */
void hm_detach(const char *why);

#endif
