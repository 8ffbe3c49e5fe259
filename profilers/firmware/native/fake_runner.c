/* FAKE MODEL RUNNER of the native test harness (see fake_runner.h). NOT TFLM. */
#include "fake_runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN16(x) (((x) + 15u) & ~15u)

static uint32_t arena_needed(const fake_runner *fake)
{
    return ALIGN16(fake->input_bytes) + ALIGN16(fake->output_bytes) + fake->persistent_bytes;
}

static tn_status fake_load(void *ctx, const uint8_t *model, uint32_t model_bytes, uint8_t *arena,
                           uint32_t arena_bytes, tn_model_io *io, char *message)
{
    fake_runner *fake = (fake_runner *)ctx;
    uint32_t needed = arena_needed(fake);
    (void)model;
    (void)model_bytes;
    if (needed > arena_bytes) {
        snprintf(message, TN_MESSAGE_BYTES, "arena needs %u bytes, %u available after the model",
                 (unsigned)needed, (unsigned)arena_bytes);
        return TN_ARENA_TOO_LARGE;
    }
    fake->input = arena;
    fake->output = arena + ALIGN16(fake->input_bytes);
    fake->events = 0u;
    memset(fake->output, 0, fake->output_bytes);
    io->input = fake->input;
    io->input_bytes = fake->input_bytes;
    io->output = fake->output;
    io->output_bytes = fake->output_bytes;
    io->arena_used_bytes = needed;
    return TN_OK;
}

static tn_status fake_invoke(void *ctx, char *message)
{
    fake_runner *fake = (fake_runner *)ctx;
    uint32_t sum = 0u;
    uint32_t weighted = 0u;
    uint32_t i;
    if (fake->fail_invoke) {
        snprintf(message, TN_MESSAGE_BYTES, "fake runner: every invoke fails (--fail-invoke)");
        fake->events = 0u;
        return TN_INVOKE_FAILED;
    }
    for (i = 0u; i < fake->input_bytes; ++i) {
        sum += fake->input[i];
        weighted += fake->input[i] * (i + 1u);
    }
    for (i = 0u; i < fake->output_bytes; ++i) {
        fake->output[i] = (uint8_t)((weighted + i * sum) & 0xFFu);
    }
    /* as TFLM may, whose memory planner can hand the input's bytes to a later activation:
     * the engine must write the input again before the next run */
    for (i = 0u; i < fake->input_bytes; ++i) {
        fake->input[i] = (uint8_t)(fake->input[i] ^ 0xA5u);
    }
    for (i = 0u; i < fake->op_count; ++i) {
        *fake->clock_cycles += fake->ops[i].cycles;
    }
    *fake->clock_cycles += fake->overhead_cycles;
    fake->events = fake->op_count;
    return TN_OK;
}

static uint32_t fake_op_count(void *ctx)
{
    return ((fake_runner *)ctx)->events;
}

static void fake_op_sample(void *ctx, uint32_t event, tn_op_sample *sample)
{
    const fake_runner *fake = (const fake_runner *)ctx;
    sample->index = event;
    sample->name = fake->ops[event].name;
    sample->cycles = fake->ops[event].cycles;
}

static void fake_unload(void *ctx)
{
    fake_runner *fake = (fake_runner *)ctx;
    fake->input = NULL;
    fake->output = NULL;
    fake->events = 0u;
}

void fake_runner_bind(fake_runner *fake, tn_runner *runner)
{
    runner->ctx = fake;
    runner->load = fake_load;
    runner->invoke = fake_invoke;
    runner->op_count = fake_op_count;
    runner->op_sample = fake_op_sample;
    runner->unload = fake_unload;
}

int fake_runner_parse_ops(fake_runner *fake, char *text)
{
    char *item = strtok(text, ",");
    fake->op_count = 0u;
    for (; item != NULL; item = strtok(NULL, ",")) {
        char *colon = strchr(item, ':');
        char *end;
        unsigned long cycles;
        if (colon == NULL || colon == item || fake->op_count == FAKE_MAX_OPS) {
            return 0;
        }
        *colon = '\0';
        cycles = strtoul(colon + 1, &end, 10);
        if (*end != '\0' || end == colon + 1 || cycles > 0xFFFFFFFFUL) {
            return 0;
        }
        fake->ops[fake->op_count].name = item;
        fake->ops[fake->op_count].cycles = (uint32_t)cycles;
        fake->op_count++;
    }
    return fake->op_count > 0u;
}
