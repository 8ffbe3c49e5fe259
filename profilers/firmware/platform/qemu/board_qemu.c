/* board.h on QEMU's Cortex-M machines mps2-an386 (Cortex-M4) and mps2-an500 (Cortex-M7): the
 * CMSDK APB UART0 that QEMU connects to its first -serial, and SysTick on the 25 MHz core clock
 * as the time base (QEMU models neither DWT's cycle counter nor a microsecond timer).
 *
 * Run QEMU with -icount shift=0: every instruction then takes 1 ns of virtual time, so
 * board_cycles() counts INSTRUCTIONS (a "clock" of 1 GHz, in steps of 40: one SysTick tick),
 * not cycles. While the firmware waits for input it sleeps (board_idle: WFI), and with
 * -icount sleep=on virtual time then follows real time, so the protocol's time-outs last their
 * real length. */
#include <stdint.h>

#include "board.h"

#define SYSTICK_HZ 25000000u /* the core clock SysTick counts on mps2-an386 and mps2-an500 */
#define TICKS_PER_MS (SYSTICK_HZ / 1000u)
#define NS_PER_TICK (1000000000u / SYSTICK_HZ) /* = instructions per tick with shift=0 */
#define RX_RING_BYTES 4096u                    /* a power of two */

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

static volatile uint32_t g_ms;
static volatile uint8_t g_rx_ring[RX_RING_BYTES];
static volatile uint32_t g_rx_head; /* written by the RX interrupt */
static volatile uint32_t g_rx_tail; /* written by the main loop */
static volatile uint32_t g_rx_dropped;

void SysTick_Handler(void);
void Uart0Rx_Handler(void);

void SysTick_Handler(void) { g_ms = g_ms + 1u; }

/* QEMU's UART holds one byte and takes the next from the socket only once it is read, so
 * the host's data waits in the socket rather than in a FIFO; the protocol's upload frames
 * (PROTOCOL.md section 5) are far smaller than the ring, so it does not fill. */
void Uart0Rx_Handler(void)
{
    UART0->intstatus = UART_RX_INT; /* write 1 to clear */
    while (UART0->state & UART_RX_FULL) {
        uint8_t byte = (uint8_t)UART0->data;
        if (g_rx_head - g_rx_tail == RX_RING_BYTES) {
            g_rx_dropped = g_rx_dropped + 1u;
            continue;
        }
        g_rx_ring[g_rx_head % RX_RING_BYTES] = byte;
        g_rx_head = g_rx_head + 1u;
    }
}

void board_init(void)
{
    UART0->bauddiv = 16u; /* QEMU transmits only with a divider of at least 16 */
    UART0->ctrl = UART_TX_EN | UART_RX_EN | UART_RX_INTEN;
    NVIC_ISER0 = 1u; /* IRQ 0: UART0 RX */
    SYST_RVR = TICKS_PER_MS - 1u;
    SYST_CVR = 0u;
    SYST_CSR = 7u; /* core clock, interrupt, enable */
}

/* Milliseconds and the SysTick ticks within the current one, read consistently. */
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

uint32_t board_cycles(void)
{
    uint32_t ms, ticks;
    now(&ms, &ticks);
    return ms * (1000000000u / 1000u) + ticks * NS_PER_TICK;
}

uint32_t board_micros(void)
{
    uint32_t ms, ticks;
    now(&ms, &ticks);
    return ms * 1000u + ticks / (TICKS_PER_MS / 1000u);
}

uint32_t board_millis(void) { return g_ms; }

void board_write(const uint8_t *data, uint32_t size)
{
    while (size-- > 0u) {
        while (UART0->state & UART_TX_FULL) {
        }
        UART0->data = *data++;
    }
}

uint32_t board_read(uint8_t *data, uint32_t max)
{
    uint32_t count = 0u;
    while (count < max && g_rx_tail != g_rx_head) {
        data[count++] = g_rx_ring[g_rx_tail % RX_RING_BYTES];
        g_rx_tail = g_rx_tail + 1u;
    }
    return count;
}

uint32_t board_rx_dropped(void) { return g_rx_dropped; }

void board_idle(void)
{
    if (g_rx_tail == g_rx_head) {
        __asm volatile("wfi"); /* until a byte or the next millisecond */
    }
}
