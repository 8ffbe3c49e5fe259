/* NUCLEO-L4R5ZI (STM32L4R5ZI, Cortex-M4F): 120 MHz from HSI16 through the main PLL, and
 * LPUART1 on PG7 (TX) / PG8 (RX), which the board wires to the ST-LINK virtual COM port
 * (ST UM2179, "Virtual COM port"). Register names are those of ST's CMSIS device header;
 * the sequence follows ST RM0432 (STM32L4+ reference manual): 5.1.8 range 1 boost mode,
 * 3.3.3 flash wait states, 6.2.5 PLL, 6.2.7 system clock switch. */
#include "stm32l4xx.h"

#include "board.h"

#if TN_CLOCK_HZ != 120000000
#error "board_nucleo_l4r5zi.c sets a 120 MHz clock; the catalogue's clock_hz differs"
#endif

#define PCLK1_HZ 120000000u /* APB1 prescaler 1: LPUART1 and TIM2 run at the core clock */

void LPUART1_IRQHandler(void);

static void wait_until_set(volatile uint32_t *reg, uint32_t mask)
{
    while ((*reg & mask) != mask) {
    }
}

static void clock_init(void)
{
    volatile uint32_t delay;
    RCC->APB1ENR1 |= RCC_APB1ENR1_PWREN;
    (void)RCC->APB1ENR1;
    PWR->CR5 &= ~PWR_CR5_R1MODE; /* range 1 boost: needed above 80 MHz */
    FLASH->ACR = (FLASH->ACR & ~FLASH_ACR_LATENCY) | FLASH_ACR_LATENCY_5WS | FLASH_ACR_PRFTEN |
                 FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    while ((FLASH->ACR & FLASH_ACR_LATENCY) != FLASH_ACR_LATENCY_5WS) {
    }
    RCC->CR |= RCC_CR_HSION;
    wait_until_set(&RCC->CR, RCC_CR_HSIRDY);
    /* HSI16 / M=2 = 8 MHz VCO input, x N=30 = 240 MHz VCO, / R=2 = 120 MHz */
    RCC->PLLCFGR = RCC_PLLCFGR_PLLSRC_HSI | (1u << RCC_PLLCFGR_PLLM_Pos) |
                   (30u << RCC_PLLCFGR_PLLN_Pos) | (0u << RCC_PLLCFGR_PLLR_Pos) |
                   RCC_PLLCFGR_PLLREN;
    RCC->CR |= RCC_CR_PLLON;
    wait_until_set(&RCC->CR, RCC_CR_PLLRDY);
    /* switching above 80 MHz: AHB at /2 for at least 1 us, then /1 */
    RCC->CFGR = (RCC->CFGR & ~RCC_CFGR_HPRE) | RCC_CFGR_HPRE_DIV2;
    RCC->CFGR = (RCC->CFGR & ~RCC_CFGR_SW) | RCC_CFGR_SW_PLL;
    while ((RCC->CFGR & RCC_CFGR_SWS) != RCC_CFGR_SWS_PLL) {
    }
    for (delay = 0u; delay < 200u; ++delay) {
    }
    RCC->CFGR &= ~RCC_CFGR_HPRE;
    SystemCoreClock = TN_CLOCK_HZ;
}

static void uart_init(void)
{
    PWR->CR2 |= PWR_CR2_IOSV; /* PG2..PG15 are supplied by VDDIO2 */
    RCC->AHB2ENR |= RCC_AHB2ENR_GPIOGEN;
    RCC->APB1ENR2 |= RCC_APB1ENR2_LPUART1EN;
    (void)RCC->APB1ENR2;
    /* PG7 = LPUART1_TX, PG8 = LPUART1_RX: alternate function 8, RX pulled up */
    GPIOG->MODER = (GPIOG->MODER & ~((3u << 14) | (3u << 16))) | (2u << 14) | (2u << 16);
    GPIOG->OSPEEDR |= (3u << 14) | (3u << 16);
    GPIOG->PUPDR = (GPIOG->PUPDR & ~(3u << 16)) | (1u << 16);
    GPIOG->AFR[0] = (GPIOG->AFR[0] & ~(0xFu << 28)) | (8u << 28);
    GPIOG->AFR[1] = (GPIOG->AFR[1] & ~0xFu) | 8u;
    /* LPUART: BRR = 256 * f_ck / baud (RM0432 "LPUART baud rate generation") */
    LPUART1->BRR = (uint32_t)(((uint64_t)PCLK1_HZ * 256u + TN_SERIAL_BAUD / 2u) / TN_SERIAL_BAUD);
    LPUART1->CR1 = USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE_RXFNEIE | USART_CR1_UE;
    NVIC_EnableIRQ(LPUART1_IRQn);
}

void LPUART1_IRQHandler(void)
{
    uint32_t status = LPUART1->ISR;
    if (status & USART_ISR_ORE) {
        LPUART1->ICR = USART_ICR_ORECF;
    }
    if (status & USART_ISR_RXNE_RXFNE) {
        board_rx_push((uint8_t)LPUART1->RDR);
    }
}

void board_write(const uint8_t *data, uint32_t size)
{
    while (size-- > 0u) {
        while ((LPUART1->ISR & USART_ISR_TXE_TXFNF) == 0u) {
        }
        LPUART1->TDR = *data++;
    }
}

void board_init(void)
{
    clock_init();
    RCC->APB1ENR1 |= RCC_APB1ENR1_TIM2EN;
    (void)RCC->APB1ENR1;
    board_counters_init(TN_CLOCK_HZ, PCLK1_HZ);
    uart_init();
}
