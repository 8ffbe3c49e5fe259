/* The commands that move data: `model` (upload or flash slot), `db` (EEMBC input load) and
 * `infer` (warm-up and timed runs with raw counters and per-op cycles). */
#include <string.h>

#include "crc32.h"
#include "engine_internal.h"

/* ---- model ----------------------------------------------------------------------------- */

static void load_slot(tn_engine *e)
{
    const tn_config *c = e->config;
    uint32_t size = 0u;
    if (c->slot != NULL && c->slot_bytes > 0u) {
        size = (uint32_t)c->slot[0] | ((uint32_t)c->slot[1] << 8) |
               ((uint32_t)c->slot[2] << 16) | ((uint32_t)c->slot[3] << 24);
    }
    if (size == 0u || size > c->slot_bytes) { /* an erased slot reads 0xFFFFFFFF */
        tn_error(e, "slot-empty", "no valid model in the flash slot (this board's slot holds "
                 "%u bytes)", c->slot != NULL ? c->slot_bytes : 0u);
        return;
    }
    tn_load_model(e, c->slot + 4, size, tn_crc32(c->slot + 4, size), 1);
}

void tn_cmd_model(tn_engine *e, char **argv, uint32_t argc)
{
    uint32_t size;
    uint32_t crc;
    tn_drop_model(e);
    if (argc == 2u && strcmp(argv[1], "slot") == 0) {
        load_slot(e);
        return;
    }
    if (argc != 3u || !tn_parse_hex32(argv[2], &crc) ||
        !tn_parse_u32(argv[1], 0u, 0x80000000UL, &size)) {
        tn_error(e, "bad-argument", "model N CRC: N bytes, CRC 8 hex digits | model slot");
        return;
    }
    if (size == 0u || TN_ALIGN16(size) > e->config->pool_bytes) {
        tn_error(e, "model-too-large", "%u bytes; the RAM model buffer holds %u bytes", size,
                 e->config->pool_bytes);
        return;
    }
    tn_upload_begin(e, size, crc);
}

/* ---- db -------------------------------------------------------------------------------- */

static void db_load(tn_engine *e, char **argv, uint32_t argc)
{
    uint32_t size;
    if (argc != 3u || !tn_parse_u32(argv[2], 1u, 0x80000000UL, &size)) {
        tn_error(e, "bad-argument", "db load N: N is the input tensor's size in bytes");
        return;
    }
    if (size != e->io.input_bytes) {
        tn_error(e, "bad-argument", "db load %u: the model's input is %u bytes", size,
                 e->io.input_bytes);
        return;
    }
    e->db_active = 1;
    e->db_received = 0u;
    tn_line(e, "m-[Expecting %u bytes]", size);
    tn_ready(e);
}

/* Whether `hex` is an even number of hex digits whose bytes fit in the announced load. */
static int db_data_ok(const tn_engine *e, const char *hex, uint32_t *bytes)
{
    uint32_t digits = 0u;
    for (; hex[digits] != '\0'; ++digits) {
        if (tn_hex_digit(hex[digits]) < 0) {
            return 0;
        }
    }
    *bytes = digits / 2u;
    return digits % 2u == 0u && e->db_received + *bytes <= e->io.input_bytes;
}

static void db_data(tn_engine *e, char **argv, uint32_t argc)
{
    uint32_t bytes;
    uint32_t i;
    if (!e->db_active || argc != 2u) {
        tn_error(e, "bad-argument", "db HEX without a db load N first");
        return;
    }
    if (!db_data_ok(e, argv[1], &bytes)) {
        e->db_active = 0;
        tn_error(e, "bad-argument", "db: odd or non-hex digits, or more bytes than db load "
                 "announced; the load is cancelled");
        return;
    }
    e->input_from_db = 1;
    for (i = 0u; i < bytes; ++i) {
        e->io.input[e->db_received + i] =
            (uint8_t)((tn_hex_digit(argv[1][2u * i]) << 4) | tn_hex_digit(argv[1][2u * i + 1u]));
    }
    e->db_received += bytes;
    if (e->db_received == e->io.input_bytes) {
        e->db_active = 0;
        tn_line(e, "m-load-done");
    }
    tn_ready(e);
}

void tn_cmd_db(tn_engine *e, char **argv, uint32_t argc)
{
    if (!tn_require_model(e)) {
        return;
    }
    if (argc >= 2u && strcmp(argv[1], "load") == 0) {
        db_load(e, argv, argc);
    } else {
        db_data(e, argv, argc);
    }
}

/* ---- infer ----------------------------------------------------------------------------- */

static int invoke_failed(tn_engine *e)
{
    e->has_results = 0;
    e->message[TN_MESSAGE_BYTES - 1u] = '\0';
    tn_error(e, "invoke-failed", "%s", e->message);
    return 0;
}

static int invoke(tn_engine *e)
{
    tn_restore_input(e);
    e->message[0] = '\0';
    return e->runner->invoke(e->runner->ctx, e->message) == TN_OK ? 1 : invoke_failed(e);
}

static void print_ops(tn_engine *e, uint32_t run)
{
    const tn_runner *r = e->runner;
    uint32_t count = r->op_count(r->ctx);
    uint32_t k;
    for (k = 0u; k < count; ++k) {
        tn_op_sample sample;
        r->op_sample(r->ctx, k, &sample);
        tn_line(e, "m-op-[%u,%u,%s,%u]", run, sample.index, sample.name, sample.cycles);
    }
}

/* One timed run: counters read right around Invoke(), lines printed outside the timed region. */
static int timed_run(tn_engine *e, uint32_t run)
{
    const tn_platform *p = e->platform;
    uint32_t u0;
    uint32_t c0;
    uint32_t c1;
    uint32_t u1;
    int ok;
    tn_restore_input(e);
    e->message[0] = '\0';
    u0 = tn_timer_us(e);
    c0 = p->cycles(p->ctx);
    ok = e->runner->invoke(e->runner->ctx, e->message) == TN_OK;
    c1 = p->cycles(p->ctx);
    u1 = tn_timer_us(e);
    if (!ok) {
        return invoke_failed(e);
    }
    tn_line(e, "m-run-[%u,%u,%u,%u,%u]", run, c0, c1, u0, u1);
    print_ops(e, run);
    return 1;
}

static int parse_infer(tn_engine *e, char **argv, uint32_t argc, uint32_t *runs,
                       uint32_t *warmup)
{
    if (argc == 3u && tn_parse_u32(argv[1], 1u, TN_MAX_RUNS, runs) &&
        tn_parse_u32(argv[2], 0u, TN_MAX_RUNS, warmup)) {
        return 1;
    }
    tn_error(e, "bad-argument", "infer N W: 1 <= N <= %u timed runs, 0 <= W <= %u warm-ups",
             (uint32_t)TN_MAX_RUNS, (uint32_t)TN_MAX_RUNS);
    return 0;
}

void tn_cmd_infer(tn_engine *e, char **argv, uint32_t argc)
{
    uint32_t runs;
    uint32_t warmup;
    uint32_t i;
    if (!parse_infer(e, argv, argc, &runs, &warmup)) {
        return;
    }
    if (!tn_require_model(e)) {
        return;
    }
    tn_line(e, "m-warmup-start-%u", warmup);
    for (i = 0u; i < warmup; ++i) {
        if (!invoke(e)) {
            return;
        }
    }
    tn_line(e, "m-warmup-done");
    tn_line(e, "m-infer-start-%u", runs);
    tn_line(e, "m-lap-us-%u", tn_timer_us(e));
    for (i = 0u; i < runs; ++i) {
        if (!timed_run(e, i)) {
            return;
        }
    }
    tn_line(e, "m-lap-us-%u", tn_timer_us(e));
    tn_line(e, "m-infer-done");
    e->has_results = 1;
    tn_results(e);
    tn_ready(e);
}
