/* Reply lines: a small formatter into a line buffer that is handed to the platform's write().
 * No stdio, so the engine links on a board without printf. */
#include <stdarg.h>

#include "crc32.h"
#include "engine_internal.h"

void tn_flush(tn_engine *e)
{
    if (e->line_len > 0u) {
        e->platform->write(e->platform->ctx, e->line, e->line_len);
        e->line_len = 0u;
    }
}

static void put_byte(tn_engine *e, char c)
{
    if (e->line_len == TN_LINE_BUFFER_BYTES) {
        tn_flush(e);
    }
    e->line[e->line_len++] = (uint8_t)c;
}

static void put_text(tn_engine *e, const char *text)
{
    for (; *text != '\0'; ++text) {
        unsigned char c = (unsigned char)*text;
        put_byte(e, (c < 0x20u || c > 0x7Eu || c == ']') ? '?' : (char)c);
    }
}

static void put_u32(tn_engine *e, uint32_t value)
{
    char digits[10];
    uint32_t count = 0u;
    do {
        digits[count++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value > 0u);
    while (count > 0u) {
        put_byte(e, digits[--count]);
    }
}

static void put_i32(tn_engine *e, int32_t value)
{
    if (value < 0) {
        put_byte(e, '-');
        put_u32(e, (uint32_t)0u - (uint32_t)value);
    } else {
        put_u32(e, (uint32_t)value);
    }
}

static void put_hex32(tn_engine *e, uint32_t value)
{
    static const char k_hex[] = "0123456789ABCDEF";
    int shift;
    for (shift = 28; shift >= 0; shift -= 4) {
        put_byte(e, k_hex[(value >> (uint32_t)shift) & 0x0Fu]);
    }
}

static void put_format(tn_engine *e, const char *format, va_list args)
{
    for (; *format != '\0'; ++format) {
        if (*format != '%' || format[1] == '\0') {
            put_byte(e, *format);
            continue;
        }
        switch (*++format) {
        case 's': put_text(e, va_arg(args, const char *)); break;
        case 'u': put_u32(e, va_arg(args, uint32_t)); break;
        case 'd': put_i32(e, va_arg(args, int32_t)); break;
        case 'X': put_hex32(e, va_arg(args, uint32_t)); break;
        default: put_byte(e, *format); break;
        }
    }
}

void tn_out(tn_engine *e, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    put_format(e, format, args);
    va_end(args);
}

void tn_line(tn_engine *e, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    put_format(e, format, args);
    va_end(args);
    put_byte(e, '\r');
    put_byte(e, '\n');
    tn_flush(e);
}

void tn_ready(tn_engine *e)
{
    tn_line(e, "m-ready");
}

void tn_error(tn_engine *e, const char *code, const char *format, ...)
{
    va_list args;
    tn_out(e, "e-[%s: ", code);
    va_start(args, format);
    put_format(e, format, args);
    va_end(args);
    tn_line(e, "]");
    tn_ready(e);
}

void tn_results(tn_engine *e)
{
    const tn_model_io *io = &e->io;
    uint32_t count = io->output_bytes < TN_RESULTS_MAX_VALUES ? io->output_bytes
                                                              : TN_RESULTS_MAX_VALUES;
    uint32_t i;
    tn_out(e, "m-results-[");
    for (i = 0u; i < count; ++i) {
        int32_t value = (int32_t)io->output[i] - (io->output[i] >= 128u ? 256 : 0); /* int8 */
        tn_out(e, i == 0u ? "%d" : ",%d", value);
    }
    tn_line(e, "]");
    tn_line(e, "m-output-[bytes=%u,crc32=%X]", io->output_bytes,
            tn_crc32(io->output, io->output_bytes));
}
