/* The protocol engine on QEMU's mps2-an386 (Cortex-M4) with the FAKE runner of the native
 * harness (native/fake_runner.c: fixed per-op cycles, made-up outputs; not TFLM), for the
 * contract suite in CI, which has no TFLM. The board side is board_qemu.c: its "cycles" are
 * instructions under -icount shift=0, and the fake runner's fixed per-op cycles are added. */
#include <stdint.h>

#include "board.h"
#include "fake_runner.h"
#include "protocol_engine.h"

#define POOL_BYTES (256u * 1024u)

#define LATENCY_SOURCE "QEMU mps2-an386 with -icount shift=0 and the fake runner: instructions " \
                       "(1 ns of virtual time each) plus fixed fake cycles per op; not cycles, " \
                       "not a measurement"

static uint64_t g_fake_cycles; /* advanced by the fake runner */
static uint8_t g_pool[POOL_BYTES] __attribute__((aligned(16)));

static uint32_t platform_cycles(void *ctx)
{
    (void)ctx;
    return board_cycles() + (uint32_t)g_fake_cycles;
}

static uint32_t platform_timer_us(void *ctx)
{
    (void)ctx;
    return board_micros();
}

static void platform_write(void *ctx, const uint8_t *data, uint32_t size)
{
    (void)ctx;
    board_write(data, size);
}

int main(void)
{
    static tn_engine engine;
    static tn_config config;
    static fake_runner fake;
    static char ops[] = "CONV_2D:120000,DEPTHWISE_CONV_2D:40000,CONV_2D:90000,"
                        "AVERAGE_POOL_2D:6000,FULLY_CONNECTED:8000,SOFTMAX:1500";
    tn_platform platform;
    tn_runner runner;
    uint8_t buffer[256];

    board_init();
    config.board = "qemu-mps2-an386";
    config.core = "cortex-m4f";
    config.runtime = "fake-runner qemu";
    config.kernels = "none (fake runner)";
    config.latency_source = LATENCY_SOURCE;
    config.counts = "instructions";
    config.emulated = 1;
    config.clock_hz = 1000000000u;
    config.sram_bytes = 4u * 1024u * 1024u;
    config.flash_bytes = 4u * 1024u * 1024u;
    config.pool = g_pool;
    config.pool_bytes = POOL_BYTES;
    config.chunk_bytes = 1024u;

    fake.input_bytes = 490u;
    fake.output_bytes = 12u;
    fake.persistent_bytes = 1024u;
    fake.overhead_cycles = 100u;
    fake.clock_cycles = &g_fake_cycles;
    fake_runner_parse_ops(&fake, ops);

    platform.ctx = 0;
    platform.write = platform_write;
    platform.cycles = platform_cycles;
    platform.timer_us = platform_timer_us;
    fake_runner_bind(&fake, &runner);
    tn_engine_init(&engine, &config, &platform, &runner);

    for (;;) {
        uint32_t n = board_read(buffer, sizeof(buffer));
        uint32_t now = board_millis();
        if (n > 0u) tn_engine_feed(&engine, buffer, n, now);
        tn_engine_poll(&engine, now);
        board_idle();
    }
}
