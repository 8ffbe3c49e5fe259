/* The board side of the tinynas profiler protocol (profilers/PROTOCOL.md), in portable C99.
 *
 * The engine parses commands, receives framed model uploads, keeps the model buffer, input and
 * results, and writes every reply line. It knows nothing of TFLM, UARTs or timers: a platform
 * (tn_platform) gives it bytes out and two counters, and a runner (tn_runner) loads and runs
 * models. On a board the runner is TFLM + a per-op cycle profiler (platform/tflm/); in the
 * native test harness it is a fake written in C (native/fake_runner.c).
 *
 * Lifecycle, all from one thread (the board's main loop):
 *
 *     tn_engine_init(&engine, &config, &platform, &runner);
 *     for (;;) {
 *         n = read_what_arrived(buffer);             // never blocks for long
 *         tn_engine_feed(&engine, buffer, n, now_ms());
 *         tn_engine_poll(&engine, now_ms());         // upload timeouts
 *     }
 *
 * tn_engine_feed() answers each complete command before it returns (so `infer` runs inside
 * it); tn_engine_poll() must run at least every TN_POLL_MS while tn_engine_uploading(). Times
 * are a free-running 32-bit millisecond clock; differences are taken modulo 2^32. */
#ifndef TINYNAS_PROTOCOL_ENGINE_H
#define TINYNAS_PROTOCOL_ENGINE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TN_PROTOCOL "tinynas-profiler/1"
#define TN_COMMAND_MAX_BYTES 80u     /* a command, its terminating '%' included (EEMBC's) */
#define TN_RESULTS_MAX_VALUES 256u   /* output values printed on the m-results line */
#define TN_MAX_RUNS 10000u           /* limit of N and W in `infer N W%` */
#define TN_FRAME_GAP_MS 100u         /* a frame whose bytes stop this long: `timeout` NAK */
#define TN_NAK_IDLE_MS 20u           /* silence the engine waits for before it sends a NAK */
#define TN_UPLOAD_IDLE_MS 5000u      /* silence after which the engine leaves upload mode */
#define TN_POLL_MS 10u               /* how often a platform calls tn_engine_poll() */
#define TN_MESSAGE_BYTES 96u         /* room for a runner's error message */
#define TN_LINE_BUFFER_BYTES 128u    /* reply bytes gathered before one platform write */

/* What a runner call returns; each failure maps to one error code of PROTOCOL.md section 6. */
typedef enum {
    TN_OK = 0,
    TN_BAD_MODEL,        /* bad-model: not a model this runtime can run */
    TN_ARENA_TOO_LARGE,  /* arena-too-large: the tensor arena does not fit */
    TN_INVOKE_FAILED     /* invoke-failed: the interpreter's Invoke() failed */
} tn_status;

/* Where a loaded model's tensors are; valid until the next load or unload. */
typedef struct {
    uint8_t *input;            /* the (first) input tensor, int8 */
    uint32_t input_bytes;
    const uint8_t *output;     /* the (first) output tensor, int8 */
    uint32_t output_bytes;
    uint32_t arena_used_bytes; /* the runtime's own figure (TFLM: arena_used_bytes()) */
} tn_model_io;

/* One profiled op of the last invoke. */
typedef struct {
    uint32_t index;            /* the op's index in the model's main subgraph */
    const char *name;          /* TFLite builtin name (CONV_2D, ...) or CUSTOM:code */
    uint32_t cycles;           /* end - start of the cycle counter, modulo 2^32 */
} tn_op_sample;

/* Loads and runs models. Every function gets `ctx`; `message` (TN_MESSAGE_BYTES) receives the
 * reason of a failure, without the error code. */
typedef struct {
    void *ctx;
    /* Prepare `model` with `arena` as its tensor arena; fill `io`. */
    tn_status (*load)(void *ctx, const uint8_t *model, uint32_t model_bytes, uint8_t *arena,
                      uint32_t arena_bytes, tn_model_io *io, char *message);
    /* Run the loaded model once on its input tensor. */
    tn_status (*invoke)(void *ctx, char *message);
    /* How many ops the last invoke profiled, and each of them. */
    uint32_t (*op_count)(void *ctx);
    void (*op_sample)(void *ctx, uint32_t event, tn_op_sample *sample);
    /* Forget the loaded model (may be NULL). */
    void (*unload)(void *ctx);
} tn_runner;

/* The board: bytes to the host and the two counters of PROTOCOL.md section 2. */
typedef struct {
    void *ctx;
    void (*write)(void *ctx, const uint8_t *data, uint32_t size); /* blocks until sent */
    uint32_t (*cycles)(void *ctx);   /* free-running 32-bit cycle counter at clock_hz */
    uint32_t (*timer_us)(void *ctx); /* free-running 32-bit microsecond timer, or NULL */
} tn_platform;

/* What the board is (its catalogue figures) and the memory the engine may use. */
typedef struct {
    const char *board;          /* catalogue slug, e.g. "nucleo-l4r5zi" */
    const char *core;           /* catalogue core, e.g. "cortex-m4f" */
    const char *runtime;        /* e.g. "tflm 90b983c2" */
    const char *kernels;        /* e.g. "cmsis-nn 4ab83cc3" */
    const char *latency_source; /* NULL on a board whose cycles are measured */
    const char *counts;         /* what `cycles` counts: NULL = "cycles", or "instructions" */
    int emulated;               /* 1: cycles are not measured on hardware */
    uint32_t clock_hz;          /* frequency of platform->cycles */
    uint32_t sram_bytes;
    uint32_t flash_bytes;
    uint8_t *pool;              /* model buffer + tensor arena, 16-byte aligned */
    uint32_t pool_bytes;        /* sram_bytes - runtime_reserve_bytes */
    const uint8_t *slot;        /* flash model slot (4-byte length, then the model), or NULL */
    uint32_t slot_bytes;        /* largest model of the slot; 0 without one */
    uint32_t chunk_bytes;       /* largest upload frame payload, 1..65535 */
    uint32_t upload_idle_ms;    /* 0: TN_UPLOAD_IDLE_MS */
} tn_config;

/* Upload receiver state (private to the engine). */
typedef struct {
    uint8_t state;
    uint8_t nak_reason;
    uint8_t saw_sync0;
    uint8_t pos;
    uint8_t bytes[4];
    uint16_t seq;
    uint16_t len;
    uint16_t next_seq;
    uint32_t payload_pos;
    uint32_t received;
    uint32_t model_bytes;
    uint32_t expected_crc;
    uint32_t crc;
    uint32_t last_rx_ms;
} tn_upload;

/* The engine; allocate it statically and treat its fields as private. */
typedef struct {
    const tn_config *config;
    const tn_platform *platform;
    const tn_runner *runner;
    char command[TN_COMMAND_MAX_BYTES];
    uint32_t command_len;
    int command_too_long;
    int uploading;
    uint32_t now_ms;            /* time of the last feed or poll */
    tn_upload upload;
    const uint8_t *model;       /* NULL: no model loaded */
    uint32_t model_bytes;
    uint32_t model_crc;
    int model_in_flash;
    uint32_t arena_bytes;
    tn_model_io io;
    uint32_t input_seed;        /* the `input random` seed; 0: zeros */
    int input_from_db;          /* the input came through `db` (it is not written again) */
    int has_results;
    int db_active;
    uint32_t db_received;
    char message[TN_MESSAGE_BYTES];
    uint8_t line[TN_LINE_BUFFER_BYTES];
    uint32_t line_len;
} tn_engine;

/* Start with no model. The three structs must outlive the engine. */
void tn_engine_init(tn_engine *engine, const tn_config *config, const tn_platform *platform,
                    const tn_runner *runner);

/* Bytes received from the host at `now_ms`. */
void tn_engine_feed(tn_engine *engine, const uint8_t *data, uint32_t size, uint32_t now_ms);

/* Let time-outs of an upload take effect (NAKs, leaving upload mode). */
void tn_engine_poll(tn_engine *engine, uint32_t now_ms);

/* Whether the engine is receiving a model (and so needs tn_engine_poll()). */
int tn_engine_uploading(const tn_engine *engine);

#ifdef __cplusplus
}
#endif

#endif /* TINYNAS_PROTOCOL_ENGINE_H */
