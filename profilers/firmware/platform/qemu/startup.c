/* Start-up of the QEMU mps2-an386 / mps2-an500 targets: the vector table, the reset handler
 * (copy .data, zero .bss, enable the FPU, run C++ static constructors) and the handlers the
 * firmware does not define. */
#include <stdint.h>

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void Uart0Rx_Handler(void) __attribute__((weak, alias("Default_Handler")));

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

/* 16 system exceptions, then the AN386's interrupts: UART0 RX is IRQ 0. */
__attribute__((section(".vectors"), used)) static void (*const vectors[17])(void) = {
    (void (*)(void))(&__stack_top), Reset_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    0, 0, 0, 0, Default_Handler, Default_Handler, 0, Default_Handler, SysTick_Handler,
    Uart0Rx_Handler,
};

void Reset_Handler(void)
{
    uint32_t *src = &__data_load, *dst = &__data_start;
    while (dst < &__data_end) *dst++ = *src++;
    for (dst = &__bss_start; dst < &__bss_end;) *dst++ = 0u;
    CPACR |= 0xFu << 20; /* CP10 and CP11: the FPU of a Cortex-M4F / M7 */
    __asm volatile("dsb\n\tisb");
    for (void (**init)(void) = __init_array_start; init < __init_array_end; ++init) (*init)();
    main();
    for (;;) {
    }
}

void Default_Handler(void)
{
    for (;;) {
    }
}
