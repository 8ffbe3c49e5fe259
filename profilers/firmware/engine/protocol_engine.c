/* The engine's entry points: bytes in, commands assembled and dispatched, models loaded.
 * Command mode follows PROTOCOL.md section 1 (and the emulated board in
 * tinynas/profile/_emulator.py): a command ends at '%', '\r' '\n' '\0' are ignored, a command
 * longer than TN_COMMAND_MAX_BYTES (its '%' included) is discarded up to its '%' and refused. */
#include <string.h>

#include "engine_internal.h"

void tn_engine_init(tn_engine *engine, const tn_config *config, const tn_platform *platform,
                    const tn_runner *runner)
{
    memset(engine, 0, sizeof(*engine));
    engine->config = config;
    engine->platform = platform;
    engine->runner = runner;
}

int tn_engine_uploading(const tn_engine *engine)
{
    return engine->uploading;
}

/* ---- models ---------------------------------------------------------------------------- */

void tn_drop_model(tn_engine *e)
{
    if (e->model != NULL && e->runner->unload != NULL) {
        e->runner->unload(e->runner->ctx);
    }
    e->model = NULL;
    e->has_results = 0;
    e->db_active = 0;
}

static void refuse_load(tn_engine *e, tn_status status)
{
    e->message[TN_MESSAGE_BYTES - 1u] = '\0';
    tn_error(e, status == TN_ARENA_TOO_LARGE ? "arena-too-large" : "bad-model", "%s",
             e->message);
}

void tn_load_model(tn_engine *e, const uint8_t *model, uint32_t model_bytes, uint32_t crc,
                   int in_flash)
{
    const tn_config *c = e->config;
    uint32_t offset = in_flash ? 0u : TN_ALIGN16(model_bytes);
    tn_status status;

    tn_drop_model(e);
    if (model_bytes < 8u || memcmp(model + 4, "TFL3", 4u) != 0) {
        tn_error(e, "bad-model", "no TFL3 identifier at bytes 4..8");
        return;
    }
    e->message[0] = '\0';
    status = e->runner->load(e->runner->ctx, model, model_bytes, c->pool + offset,
                             c->pool_bytes - offset, &e->io, e->message);
    if (status != TN_OK) {
        refuse_load(e, status);
        return;
    }
    e->model = model;
    e->model_bytes = model_bytes;
    e->model_crc = crc;
    e->model_in_flash = in_flash;
    e->arena_bytes = c->pool_bytes - offset;
    e->input_seed = 0u;
    e->input_from_db = 0;
    tn_restore_input(e);
    tn_line(e, "m-model-loaded-[bytes=%u,crc32=%X,in=%s]", model_bytes, e->model_crc,
            in_flash ? "flash" : "ram");
    tn_ready(e);
}

/* ---- command mode ---------------------------------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f);
}

/* Split `text` in place at white space; returns the number of words (more than `max` are
 * counted but not stored). */
static uint32_t split_words(char *text, char **argv, uint32_t max)
{
    uint32_t argc = 0u;
    while (*text != '\0') {
        while (is_space(*text)) {
            *text++ = '\0';
        }
        if (*text == '\0') {
            break;
        }
        if (argc < max) {
            argv[argc] = text;
        }
        ++argc;
        while (*text != '\0' && !is_space(*text)) {
            ++text;
        }
    }
    return argc;
}

/* The command's text without surrounding white space, copied into `text`. */
static void trimmed_command(const tn_engine *e, char *text)
{
    uint32_t start = 0u;
    uint32_t end = e->command_len;
    while (start < end && is_space(e->command[start])) {
        ++start;
    }
    while (end > start && is_space(e->command[end - 1u])) {
        --end;
    }
    memcpy(text, e->command + start, end - start);
    text[end - start] = '\0';
}

static void end_command(tn_engine *e)
{
    char text[TN_COMMAND_MAX_BYTES];
    char words[TN_COMMAND_MAX_BYTES];
    char *argv[TN_MAX_ARGS];
    uint32_t argc;

    if (e->command_too_long) {
        tn_error(e, "command-too-long", "over %u bytes", (uint32_t)TN_COMMAND_MAX_BYTES);
    } else {
        trimmed_command(e, text);
        memcpy(words, text, sizeof(words));
        argc = split_words(words, argv, TN_MAX_ARGS);
        if (argc == 0u) {
            tn_ready(e);
        } else {
            tn_dispatch(e, argv, argc, text);
        }
    }
    e->command_len = 0u;
    e->command_too_long = 0;
}

static void command_byte(tn_engine *e, uint8_t byte)
{
    if (byte == '%') {
        end_command(e);
    } else if (byte == '\r' || byte == '\n' || byte == '\0') {
        return;
    } else if (e->command_len + 1u < TN_COMMAND_MAX_BYTES) {
        e->command[e->command_len++] = (char)byte;
    } else {
        e->command_too_long = 1;
    }
}

void tn_engine_feed(tn_engine *engine, const uint8_t *data, uint32_t size, uint32_t now_ms)
{
    uint32_t i;
    engine->now_ms = now_ms;
    for (i = 0u; i < size; ++i) {
        if (engine->uploading) {
            tn_upload_byte(engine, data[i], now_ms);
        } else {
            command_byte(engine, data[i]);
        }
    }
}

void tn_engine_poll(tn_engine *engine, uint32_t now_ms)
{
    engine->now_ms = now_ms;
    if (engine->uploading) {
        tn_upload_poll(engine, now_ms);
    }
}
