/* What the firmware's main loop and the TFLM runner need from a board: clocks, the serial
 * line to the host, and three counters.
 *
 * STM32 boards (platform/stm32/):
 *   board_<slug>.c   one per board: clock tree, UART pins and registers, the UART's interrupt
 *   board_common.c   every STM32: DWT cycle counter, TIM2 microsecond timer, SysTick
 *                    millisecond clock, and the receive ring buffer the UART interrupt fills
 *   The device header comes from CMake as TN_DEVICE_HEADER (e.g. "stm32l4xx.h"); the catalogue
 *   figures (TN_CLOCK_HZ, TN_SERIAL_BAUD, ...) as compile definitions.
 * QEMU's Cortex-M machines (platform/qemu/board_qemu.c): the CMSDK UART and SysTick, whose
 *   "cycles" are instructions under -icount shift=0. */
#ifndef TINYNAS_BOARD_H
#define TINYNAS_BOARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- for main ------------------------------------------------------------------------- */

/* Clocks to TN_CLOCK_HZ, the UART at TN_SERIAL_BAUD, counters running. */
void board_init(void);

/* Send `size` bytes; returns once the last one is in the UART. */
void board_write(const uint8_t *data, uint32_t size);

/* Up to `max` received bytes (never waits); how many were copied. */
uint32_t board_read(uint8_t *data, uint32_t max);

/* The DWT cycle counter (DWT->CYCCNT) at the core clock. */
uint32_t board_cycles(void);

/* TIM2, a free-running 32-bit counter at 1 MHz. */
uint32_t board_micros(void);

/* Milliseconds since reset (SysTick), for the protocol engine's time-outs. */
uint32_t board_millis(void);

/* Received bytes lost because the ring buffer was full. */
uint32_t board_rx_dropped(void);

/* Called by the main loop after each pass: sleep until an interrupt if nothing was received
 * (QEMU: WFI, so virtual time follows real time), or return at once (STM32). */
void board_idle(void);

/* ---- for board files ------------------------------------------------------------------ */

/* Start DWT, SysTick (core_hz / 1000) and TIM2 (whose input clock is tim2_hz); TIM2's bus
 * clock must be enabled first. */
void board_counters_init(uint32_t core_hz, uint32_t tim2_hz);

/* Store one received byte (from the UART interrupt). */
void board_rx_push(uint8_t byte);

#ifdef __cplusplus
}
#endif

#endif /* TINYNAS_BOARD_H */
