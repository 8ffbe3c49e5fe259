/* The protocol engine on QEMU's mps2-an386 (Cortex-M4), with the FAKE runner of the native
 * harness (native/fake_runner.c: fixed per-op cycles, made-up outputs; not TFLM).
 *
 * Serial: the CMSDK APB UART0 that QEMU connects to its first -serial (a TCP socket in the
 * tests); received bytes go to a ring by the RX interrupt. Time: SysTick on the core clock
 * (25 MHz on this machine), interrupting every millisecond. Run QEMU with -icount shift=0: each
 * instruction then takes 1 ns of virtual time, so the "cycle" counter this platform reports at
 * clock_hz = 1 GHz counts INSTRUCTIONS (resolution 40, one SysTick tick), not cycles; the fake
 * runner's fixed per-op cycles are added to it. While it waits for input the core sleeps
 * (WFI), and with -icount sleep=on virtual time then follows real time, so the protocol's
 * time-outs take their real length. */
#include <stdint.h>

#include "fake_runner.h"
#include "protocol_engine.h"

#define SYSTICK_HZ 25000000u /* SysTick's core clock on QEMU's mps2-an386 */
#define TICKS_PER_MS (SYSTICK_HZ / 1000u)
#define NS_PER_TICK (1000000000u / SYSTICK_HZ) /* = instructions per tick with shift=0 */
#define POOL_BYTES (256u * 1024u)
#define RING_BYTES 4096u

typedef struct {
    volatile uint32_t data, state, ctrl, intstatus, bauddiv;
} cmsdk_uart;

#define UART0 ((cmsdk_uart *)0x40004000u)
#define UART_TX_FULL 1u
#define UART_RX_FULL 2u
#define UART_TX_EN 1u
#define UART_RX_EN 2u
#define UART_RX_INTEN 8u
#define UART_RX_INT 2u

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)

#define LATENCY_SOURCE "QEMU mps2-an386 with -icount shift=0 and the fake runner: instructions " \
                       "(1 ns of virtual time each) plus fixed fake cycles per op; not cycles, " \
                       "not a measurement"

static volatile uint32_t g_ms;
static volatile uint8_t g_ring[RING_BYTES];
static volatile uint32_t g_head, g_tail; /* written by the RX interrupt, read by main */
static uint64_t g_fake_cycles;           /* advanced by the fake runner */
static uint8_t g_pool[POOL_BYTES] __attribute__((aligned(16)));

void SysTick_Handler(void) { g_ms = g_ms + 1u; }

void Uart0Rx_Handler(void)
{
    UART0->intstatus = UART_RX_INT; /* write 1 to clear */
    while (UART0->state & UART_RX_FULL) {
        uint8_t byte = (uint8_t)UART0->data;
        uint32_t next = (g_head + 1u) % RING_BYTES;
        if (next != g_tail) { /* full: QEMU holds back what the ring cannot take */
            g_ring[g_head] = byte;
            g_head = next;
        }
    }
}

/* Milliseconds and the ticks within the current one, read consistently. */
static void now(uint32_t *ms, uint32_t *ticks)
{
    uint32_t before, value;
    do {
        before = g_ms;
        value = SYST_CVR;
    } while (before != g_ms);
    *ms = before;
    *ticks = (TICKS_PER_MS - 1u) - value;
}

static uint32_t platform_cycles(void *ctx)
{
    uint32_t ms, ticks;
    (void)ctx;
    now(&ms, &ticks);
    return ms * (1000000000u / 1000u) + ticks * NS_PER_TICK + (uint32_t)g_fake_cycles;
}

static uint32_t platform_timer_us(void *ctx)
{
    uint32_t ms, ticks;
    (void)ctx;
    now(&ms, &ticks);
    return ms * 1000u + ticks / (TICKS_PER_MS / 1000u);
}

static void platform_write(void *ctx, const uint8_t *data, uint32_t size)
{
    (void)ctx;
    while (size-- > 0u) {
        while (UART0->state & UART_TX_FULL) {
        }
        UART0->data = *data++;
    }
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

    UART0->bauddiv = 16u; /* QEMU transmits only with a divider of at least 16 */
    UART0->ctrl = UART_TX_EN | UART_RX_EN | UART_RX_INTEN;
    NVIC_ISER0 = 1u; /* IRQ 0: UART0 RX */
    SYST_RVR = TICKS_PER_MS - 1u;
    SYST_CVR = 0u;
    SYST_CSR = 7u; /* core clock, interrupt, enable */

    config.board = "qemu-mps2-an386";
    config.core = "cortex-m4f";
    config.runtime = "fake-runner qemu";
    config.kernels = "none (fake runner)";
    config.latency_source = LATENCY_SOURCE;
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
        uint32_t n = 0u;
        while (g_tail != g_head && n < sizeof(buffer)) {
            buffer[n++] = g_ring[g_tail];
            g_tail = (g_tail + 1u) % RING_BYTES;
        }
        if (n > 0u) {
            tn_engine_feed(&engine, buffer, n, g_ms);
        }
        tn_engine_poll(&engine, g_ms);
        if (g_tail == g_head) {
            __asm volatile("wfi"); /* until a byte or the next millisecond */
        }
    }
}
