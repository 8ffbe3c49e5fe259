/* The binary model upload of PROTOCOL.md section 5, one byte at a time.
 *
 * A frame is: 0xA5 0x5A, seq (u16 LE), len (u16 LE), len payload bytes, CRC32 (u32 LE) of
 * seq + len + payload. The payload of the expected frame is written straight into the pool at
 * its offset (a refused frame is overwritten by its retransmission), so an upload needs no RAM
 * beyond the model buffer. A repeat of the previous frame (its ack was lost) is acknowledged
 * again and its payload ignored. A refused frame is answered with a NAK once the line has been
 * idle for TN_NAK_IDLE_MS, so the rest of a broken frame is not taken for the next one. */
#include "crc32.h"
#include "engine_internal.h"

enum { HUNT = 0, HEADER, PAYLOAD, TRAILER, DRAIN };
enum { NAK_CRC = 0, NAK_LENGTH, NAK_SEQUENCE, NAK_TIMEOUT };

#define SYNC0 0xA5u
#define SYNC1 0x5Au
#define ABORT_SEQ 0xFFFFu

static const char *const k_nak_reasons[] = {"crc", "length", "sequence", "timeout"};

static uint32_t le32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] | ((uint32_t)bytes[1] << 8) | ((uint32_t)bytes[2] << 16) |
           ((uint32_t)bytes[3] << 24);
}

void tn_upload_begin(tn_engine *e, uint32_t model_bytes, uint32_t crc)
{
    tn_upload *u = &e->upload;
    u->state = HUNT;
    u->saw_sync0 = 0u;
    u->received = 0u;
    u->next_seq = 0u;
    u->model_bytes = model_bytes;
    u->expected_crc = crc;
    u->last_rx_ms = e->now_ms;
    e->uploading = 1;
    tn_line(e, "m-model-expect-[%u,%u]", model_bytes, e->config->chunk_bytes);
}

static void end_upload(tn_engine *e)
{
    e->uploading = 0;
}

static void refuse_frame(tn_upload *u, uint8_t reason)
{
    u->state = DRAIN;
    u->nak_reason = reason;
}

static void send_nak(tn_engine *e)
{
    tn_line(e, "m-nak-%u-[%s]", (uint32_t)e->upload.next_seq,
            k_nak_reasons[e->upload.nak_reason]);
    e->upload.state = HUNT;
    e->upload.saw_sync0 = 0u;
}

/* Every byte of the model has arrived: check it whole, then load it. */
static void complete(tn_engine *e)
{
    const uint8_t *model = e->config->pool;
    uint32_t size = e->upload.model_bytes;
    uint32_t crc = tn_crc32(model, size);
    end_upload(e);
    if (crc != e->upload.expected_crc) {
        tn_error(e, "crc-mismatch", "model crc32 %X, expected %X", crc, e->upload.expected_crc);
        return;
    }
    tn_load_model(e, model, size, crc, 0);
}

static void header_done(tn_engine *e)
{
    tn_upload *u = &e->upload;
    uint32_t left = u->model_bytes - u->received;
    u->seq = (uint16_t)(u->bytes[0] | (u->bytes[1] << 8));
    u->len = (uint16_t)(u->bytes[2] | (u->bytes[3] << 8));
    u->pos = 0u;
    u->payload_pos = 0u;
    if (u->seq == ABORT_SEQ && u->len == 0u) {
        u->state = TRAILER;
    } else if (u->len == 0u || u->len > e->config->chunk_bytes ||
               (u->seq == u->next_seq && u->len > left)) {
        refuse_frame(u, NAK_LENGTH);
    } else {
        u->state = PAYLOAD;
    }
}

static void frame_done(tn_engine *e)
{
    tn_upload *u = &e->upload;
    int crc_ok = tn_crc32_final(u->crc) == le32(u->bytes);
    if (!crc_ok) {
        refuse_frame(u, NAK_CRC);
    } else if (u->seq == ABORT_SEQ && u->len == 0u) {
        end_upload(e);
        tn_error(e, "upload-aborted", "the host sent the abort frame");
    } else if (u->seq == u->next_seq) {
        u->received += u->len;
        u->next_seq++;
        u->state = HUNT;
        tn_line(e, "m-ack-%u", (uint32_t)u->seq);
        if (u->received == u->model_bytes) {
            complete(e);
        }
    } else if (u->next_seq > 0u && u->seq == u->next_seq - 1u) {
        u->state = HUNT;
        tn_line(e, "m-ack-%u", (uint32_t)u->seq);
    } else {
        refuse_frame(u, NAK_SEQUENCE);
    }
}

static void hunt_byte(tn_upload *u, uint8_t byte)
{
    if (u->saw_sync0 && byte == SYNC1) {
        u->state = HEADER;
        u->pos = 0u;
        u->crc = TN_CRC32_INIT;
    }
    u->saw_sync0 = byte == SYNC0;
}

void tn_upload_byte(tn_engine *e, uint8_t byte, uint32_t now_ms)
{
    tn_upload *u = &e->upload;
    u->last_rx_ms = now_ms;
    switch (u->state) {
    case HUNT:
        hunt_byte(u, byte);
        break;
    case HEADER:
        u->crc = tn_crc32_update(u->crc, &byte, 1u);
        u->bytes[u->pos++] = byte;
        if (u->pos == 4u) {
            header_done(e);
        }
        break;
    case PAYLOAD:
        u->crc = tn_crc32_update(u->crc, &byte, 1u);
        if (u->seq == u->next_seq) {
            e->config->pool[u->received + u->payload_pos] = byte;
        }
        if (++u->payload_pos == u->len) {
            u->state = TRAILER;
        }
        break;
    case TRAILER:
        u->bytes[u->pos++] = byte;
        if (u->pos == 4u) {
            frame_done(e);
        }
        break;
    default: /* DRAIN: discard until the line is idle */
        break;
    }
}

void tn_upload_poll(tn_engine *e, uint32_t now_ms)
{
    tn_upload *u = &e->upload;
    uint32_t idle_ms = now_ms - u->last_rx_ms;
    uint32_t limit_ms = e->config->upload_idle_ms ? e->config->upload_idle_ms
                                                  : TN_UPLOAD_IDLE_MS;
    if (u->state == HUNT) {
        if (idle_ms >= limit_ms) {
            end_upload(e);
            tn_error(e, "upload-timeout", "no byte for %u ms", limit_ms);
        }
    } else if (u->state == DRAIN) {
        if (idle_ms >= TN_NAK_IDLE_MS) {
            send_nak(e);
        }
    } else if (idle_ms > TN_FRAME_GAP_MS) {
        u->nak_reason = NAK_TIMEOUT;
        send_nak(e);
    }
}
