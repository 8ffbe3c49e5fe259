/* FAKE MODEL RUNNER of the native test harness. It is NOT TFLM and runs no model.
 *
 * It stands in for platform/tflm/tflm_runner.cc so the protocol engine can be compiled for
 * the host and driven over a pty by the Python client. What it does, deterministically:
 *   - load: places an input tensor of `input_bytes` and an output tensor of `output_bytes` at
 *     the start of the arena it is given, and needs align16(input) + align16(output) +
 *     `persistent_bytes` of arena (refuses with arena-too-large below that);
 *   - invoke: output[j] = (A + j * S) mod 256, where S = sum of the input bytes and
 *     A = sum of input[i] * (i + 1) (input bytes read as unsigned), and advances the harness's
 *     virtual cycle counter by the fixed cycles of each fake op plus `overhead_cycles`; then it
 *     overwrites its input (each byte XOR 0xA5), as TFLM may hand the input tensor's bytes to
 *     a later activation, so the engine must write the input again before every run.
 * Its outputs therefore never match TFLM's; tests compare what the protocol carries. Output
 * agreement with TFLM is checked against the emulated board, which runs real TFLM. */
#ifndef TINYNAS_FAKE_RUNNER_H
#define TINYNAS_FAKE_RUNNER_H

#include <stdint.h>

#include "protocol_engine.h"

#define FAKE_MAX_OPS 64u

typedef struct {
    const char *name;  /* what m-op lines call it, e.g. CONV_2D */
    uint32_t cycles;   /* fixed cycles of every run */
} fake_op;

typedef struct {
    /* settings */
    uint64_t *clock_cycles;     /* the harness's virtual cycle counter */
    uint32_t input_bytes;
    uint32_t output_bytes;
    uint32_t persistent_bytes;
    uint32_t overhead_cycles;   /* Invoke() bookkeeping outside the ops, per run */
    fake_op ops[FAKE_MAX_OPS];
    uint32_t op_count;
    int fail_invoke;            /* every invoke fails (to test invoke-failed) */
    /* state */
    uint8_t *input;
    uint8_t *output;
    uint32_t events;            /* ops profiled by the last invoke */
} fake_runner;

/* Fill `runner` with the fake's callbacks, bound to `fake`. */
void fake_runner_bind(fake_runner *fake, tn_runner *runner);

/* Parse "NAME:CYCLES,NAME:CYCLES,..." into fake->ops (the text is modified and kept);
 * returns 0 on a malformed list. */
int fake_runner_parse_ops(fake_runner *fake, char *text);

#endif /* TINYNAS_FAKE_RUNNER_H */
