/* Shared by the engine's source files; not part of its interface. */
#ifndef TINYNAS_ENGINE_INTERNAL_H
#define TINYNAS_ENGINE_INTERNAL_H

#include "protocol_engine.h"

#define TN_ALIGN16(x) (((x) + 15u) & ~15u)
#define TN_MAX_ARGS 4u

/* ---- reply lines (engine_output.c) ----------------------------------------------------------
 * Formats understand %s (text; any byte outside printable ASCII, and ']', is written as '?'),
 * %u (uint32_t), %d (int32_t), %X (uint32_t as 8 uppercase hex digits) and %%. */
void tn_out(tn_engine *e, const char *format, ...);
void tn_line(tn_engine *e, const char *format, ...);       /* a whole line, CR LF added */
void tn_error(tn_engine *e, const char *code, const char *format, ...); /* + m-ready */
void tn_ready(tn_engine *e);                                /* the m-ready line */
void tn_flush(tn_engine *e);
void tn_results(tn_engine *e);                              /* m-results and m-output */

/* ---- commands (engine_commands.c) ------------------------------------------------------- */
/* Answer one command given as words; every path ends with tn_ready() or starts an upload. */
void tn_dispatch(tn_engine *e, char **argv, uint32_t argc, const char *text);
int tn_parse_u32(const char *text, uint32_t low, uint32_t high, uint32_t *value);
int tn_parse_hex32(const char *text, uint32_t *value); /* exactly 8 hex digits */
int tn_hex_digit(char c);                              /* -1 for a non-hex character */
int tn_require_model(tn_engine *e);                    /* 0 after a no-model reply */
void tn_restore_input(tn_engine *e); /* the input of `input` again, before a run */
uint32_t tn_timer_us(const tn_engine *e);              /* 0 without a microsecond timer */

/* ---- data commands (engine_run.c) -------------------------------------------------------- */
void tn_cmd_db(tn_engine *e, char **argv, uint32_t argc);
void tn_cmd_infer(tn_engine *e, char **argv, uint32_t argc);
void tn_cmd_model(tn_engine *e, char **argv, uint32_t argc);

/* ---- models (protocol_engine.c) ---------------------------------------------------------- */
void tn_drop_model(tn_engine *e);
/* Load `model` (already in RAM or flash) whose CRC32 is `crc`; replies m-model-loaded or an
 * error, then m-ready. */
void tn_load_model(tn_engine *e, const uint8_t *model, uint32_t model_bytes, uint32_t crc,
                   int in_flash);

/* ---- upload (engine_upload.c) ------------------------------------------------------------ */
void tn_upload_begin(tn_engine *e, uint32_t model_bytes, uint32_t crc);
void tn_upload_byte(tn_engine *e, uint8_t byte, uint32_t now_ms);
void tn_upload_poll(tn_engine *e, uint32_t now_ms);

#endif /* TINYNAS_ENGINE_INTERNAL_H */
