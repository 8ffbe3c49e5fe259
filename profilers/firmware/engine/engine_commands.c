/* The commands of PROTOCOL.md sections 3 and 4, one handler each.
 *
 * Argument checks come before state checks except where the emulated board
 * (tinynas/profile/_engine.py) does otherwise: `db`, `input` and `arena` answer no-model first;
 * `model` drops the loaded model before it looks at its arguments. */
#include <string.h>

#include "engine_internal.h"

typedef void (*tn_handler)(tn_engine *e, char **argv, uint32_t argc);

int tn_parse_u32(const char *text, uint32_t low, uint32_t high, uint32_t *value)
{
    uint32_t result = 0u;
    if (*text == '\0') {
        return 0;
    }
    for (; *text != '\0'; ++text) {
        uint32_t digit = (uint32_t)(unsigned char)*text - (uint32_t)'0';
        if (digit > 9u || result > (0xFFFFFFFFUL - digit) / 10u) {
            return 0;
        }
        result = result * 10u + digit;
    }
    *value = result;
    return result >= low && result <= high;
}

int tn_hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int tn_parse_hex32(const char *text, uint32_t *value)
{
    uint32_t result = 0u;
    uint32_t i;
    for (i = 0u; i < 8u; ++i) {
        int digit = tn_hex_digit(text[i]);
        if (digit < 0) {
            return 0;
        }
        result = (result << 4) | (uint32_t)digit;
    }
    *value = result;
    return text[8] == '\0';
}

int tn_require_model(tn_engine *e)
{
    if (e->model == NULL) {
        tn_error(e, "no-model", "upload a model first (model N CRC%%)");
        return 0;
    }
    return 1;
}

uint32_t tn_timer_us(const tn_engine *e)
{
    const tn_platform *p = e->platform;
    return p->timer_us != NULL ? p->timer_us(p->ctx) : 0u;
}

/* ---- EEMBC commands -------------------------------------------------------------------- */

static void cmd_name(tn_engine *e, char **argv, uint32_t argc)
{
    (void)argv;
    (void)argc;
    tn_line(e, "m-name-dut-[%s]", e->config->board);
    tn_ready(e);
}

static void cmd_profile(tn_engine *e, char **argv, uint32_t argc)
{
    (void)argv;
    (void)argc;
    tn_line(e, "m-profile-[%s%s]", TN_PROTOCOL, e->config->emulated ? " emulated" : "");
    if (e->model != NULL) {
        tn_line(e, "m-model-[crc32=%X]", e->model_crc);
    } else {
        tn_line(e, "m-model-[none]");
    }
    tn_ready(e);
}

static void cmd_timestamp(tn_engine *e, char **argv, uint32_t argc)
{
    (void)argv;
    (void)argc;
    tn_line(e, "m-lap-us-%u", tn_timer_us(e));
    tn_ready(e);
}

static void cmd_results(tn_engine *e, char **argv, uint32_t argc)
{
    (void)argv;
    (void)argc;
    if (!e->has_results) {
        tn_error(e, "no-results", "no inference has run since the model was loaded");
        return;
    }
    tn_results(e);
    tn_ready(e);
}

/* ---- tinynas commands ------------------------------------------------------------------ */

static void cmd_info(tn_engine *e, char **argv, uint32_t argc)
{
    const tn_config *c = e->config;
    (void)argv;
    (void)argc;
    tn_line(e, "m-info-[protocol=%s]", TN_PROTOCOL);
    tn_line(e, "m-info-[board=%s]", c->board);
    tn_line(e, "m-info-[emulated=%u]", (uint32_t)(c->emulated ? 1u : 0u));
    tn_line(e, "m-info-[core=%s]", c->core);
    tn_line(e, "m-info-[clock_hz=%u]", c->clock_hz);
    tn_line(e, "m-info-[sram_bytes=%u]", c->sram_bytes);
    tn_line(e, "m-info-[flash_bytes=%u]", c->flash_bytes);
    tn_line(e, "m-info-[pool_bytes=%u]", c->pool_bytes);
    tn_line(e, "m-info-[slot_bytes=%u]", c->slot != NULL ? c->slot_bytes : 0u);
    tn_line(e, "m-info-[chunk_bytes=%u]", c->chunk_bytes);
    tn_line(e, "m-info-[timer_bits=32]");
    tn_line(e, "m-info-[us_timer=%u]", (uint32_t)(e->platform->timer_us != NULL ? 1u : 0u));
    tn_line(e, "m-info-[runtime=%s]", c->runtime);
    tn_line(e, "m-info-[kernels=%s]", c->kernels);
    if (c->latency_source != NULL) {
        tn_line(e, "m-info-[latency_source=%s]", c->latency_source);
    }
    if (c->counts != NULL) {
        tn_line(e, "m-info-[counts=%s]", c->counts);
    }
    tn_ready(e);
}

static int is_token(const char *text)
{
    uint32_t n = 0u;
    for (; text[n] != '\0'; ++n) {
        char c = text[n];
        if (n == 16u || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) {
            return 0;
        }
    }
    return n > 0u;
}

static void cmd_sync(tn_engine *e, char **argv, uint32_t argc)
{
    if (argc != 2u || !is_token(argv[1])) {
        tn_error(e, "bad-argument", "sync T: T is 1-16 characters [0-9a-z]");
        return;
    }
    tn_line(e, "m-sync-[%s]", argv[1]);
    tn_ready(e);
}

static void cmd_arena(tn_engine *e, char **argv, uint32_t argc)
{
    (void)argv;
    (void)argc;
    if (!tn_require_model(e)) {
        return;
    }
    tn_line(e, "m-arena-[used_bytes=%u]", e->io.arena_used_bytes);
    tn_line(e, "m-arena-[available_bytes=%u]", e->arena_bytes);
    tn_line(e, "m-arena-[model_bytes=%u]", e->model_bytes);
    tn_line(e, "m-arena-[model_in=%s]", e->model_in_flash ? "flash" : "ram");
    tn_ready(e);
}

/* `input random S`: 32-bit xorshift (13, 17, 5) from state S, low byte of each step. */
static void fill_random(uint8_t *data, uint32_t size, uint32_t seed)
{
    uint32_t x = seed;
    uint32_t i;
    for (i = 0u; i < size; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (uint8_t)(x & 0xFFu);
    }
}

/* TFLM's memory planner may give the input tensor's bytes to a later activation, so a run
 * can leave its input overwritten: zeros and random inputs are written again before every
 * run (outside the timed region). A db input exists only in the tensor: it holds for the
 * first run after the load (EEMBC's runner uses `infer 1 0` for its accuracy mode). */
void tn_restore_input(tn_engine *e)
{
    if (e->input_from_db) {
        return;
    }
    if (e->input_seed == 0u) {
        memset(e->io.input, 0, e->io.input_bytes);
    } else {
        fill_random(e->io.input, e->io.input_bytes, e->input_seed);
    }
}

static void cmd_input(tn_engine *e, char **argv, uint32_t argc)
{
    uint32_t seed;
    if (!tn_require_model(e)) {
        return;
    }
    if (argc == 2u && strcmp(argv[1], "zeros") == 0) {
        e->input_seed = 0u;
        e->input_from_db = 0;
        tn_restore_input(e);
        tn_line(e, "m-input-[zeros]");
    } else if (argc == 3u && strcmp(argv[1], "random") == 0 &&
               tn_parse_u32(argv[2], 1u, 0xFFFFFFFFUL, &seed)) {
        e->input_seed = seed;
        e->input_from_db = 0;
        tn_restore_input(e);
        tn_line(e, "m-input-[random,%u]", seed);
    } else {
        tn_error(e, "bad-argument", "input zeros | input random SEED (1..4294967295)");
        return;
    }
    tn_ready(e);
}

/* ---- dispatch -------------------------------------------------------------------------- */

static const struct {
    const char *name;
    tn_handler handler;
} k_commands[] = {
    {"name", cmd_name},       {"profile", cmd_profile}, {"timestamp", cmd_timestamp},
    {"db", tn_cmd_db},        {"infer", tn_cmd_infer},  {"results", cmd_results},
    {"info", cmd_info},       {"sync", cmd_sync},       {"model", tn_cmd_model},
    {"input", cmd_input},     {"arena", cmd_arena},
};

void tn_dispatch(tn_engine *e, char **argv, uint32_t argc, const char *text)
{
    uint32_t i;
    for (i = 0u; i < sizeof(k_commands) / sizeof(k_commands[0]); ++i) {
        if (strcmp(argv[0], k_commands[i].name) == 0) {
            k_commands[i].handler(e, argv, argc);
            return;
        }
    }
    tn_error(e, "Unknown command", "%s", text);
}
