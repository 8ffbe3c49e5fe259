/* Counters and the receive ring buffer, the same on every STM32 with a Cortex-M3/M4/M7 core.
 *
 * Cycles: DWT->CYCCNT, the core's free-running 32-bit cycle counter (ARMv7-M Architecture
 * Reference Manual, C1.8 "Data Watchpoint and Trace unit"), enabled through DEMCR.TRCENA.
 * Microseconds: TIM2, a 32-bit timer on every STM32 family here, prescaled to 1 MHz.
 * Milliseconds: SysTick at 1 kHz; its interrupt costs a few tens of cycles per millisecond,
 * which the timed runs include (well under 0.01 %). */
#include TN_DEVICE_HEADER

#include "board.h"

#define RX_RING_BYTES 2048u /* a power of two */

static volatile uint8_t g_rx_ring[RX_RING_BYTES];
static volatile uint32_t g_rx_head; /* written by the UART interrupt */
static volatile uint32_t g_rx_tail; /* written by the main loop */
static volatile uint32_t g_rx_dropped;
static volatile uint32_t g_millis;

void SysTick_Handler(void);

void SysTick_Handler(void)
{
    g_millis++;
}

void board_counters_init(uint32_t core_hz, uint32_t tim2_hz)
{
    DCB->DEMCR |= DCB_DEMCR_TRCENA_Msk;
    DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;

    TIM2->CR1 = 0u;
    TIM2->PSC = tim2_hz / 1000000u - 1u;
    TIM2->ARR = 0xFFFFFFFFu;
    TIM2->EGR = TIM_EGR_UG; /* load the prescaler now */
    TIM2->CR1 = TIM_CR1_CEN;

    SysTick_Config(core_hz / 1000u);
}

uint32_t board_cycles(void)
{
    return DWT->CYCCNT;
}

uint32_t board_micros(void)
{
    return TIM2->CNT;
}

uint32_t board_millis(void)
{
    return g_millis;
}

void board_rx_push(uint8_t byte)
{
    uint32_t head = g_rx_head;
    if (head - g_rx_tail == RX_RING_BYTES) {
        g_rx_dropped++;
        return;
    }
    g_rx_ring[head % RX_RING_BYTES] = byte;
    g_rx_head = head + 1u;
}

uint32_t board_read(uint8_t *data, uint32_t max)
{
    uint32_t tail = g_rx_tail;
    uint32_t count = 0u;
    while (count < max && tail != g_rx_head) {
        data[count++] = g_rx_ring[tail % RX_RING_BYTES];
        tail++;
    }
    g_rx_tail = tail;
    return count;
}

uint32_t board_rx_dropped(void)
{
    return g_rx_dropped;
}

void board_idle(void)
{
    /* busy polling: the main loop is all the firmware does between runs */
}
