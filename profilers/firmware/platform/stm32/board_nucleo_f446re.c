/* NUCLEO-F446RE (STM32F446RE, Cortex-M4F): 180 MHz from HSI through the main PLL with the
 * over-drive on, and USART2 on PA2 (TX) / PA3 (RX), which the board wires to the ST-LINK
 * virtual COM port (ST UM1724). Register names are those of ST's CMSIS device header; the
 * sequence follows ST RM0390 (STM32F446 reference manual): 5.1.4 over-drive, 3.4.1 flash
 * wait states, 6.3.2 PLL configuration. */
#include "stm32f4xx.h"

#include "board.h"

#if TN_CLOCK_HZ != 180000000
#error "board_nucleo_f446re.c sets a 180 MHz clock; the catalogue's clock_hz differs"
#endif

#define PCLK1_HZ 45000000u /* APB1 = HCLK / 4, its maximum */
#define TIM2_HZ 90000000u  /* timers on a divided APB1 run at twice PCLK1 */

void USART2_IRQHandler(void);

static void wait_until_set(volatile uint32_t *reg, uint32_t mask)
{
    while ((*reg & mask) != mask) {
    }
}

static void clock_init(void)
{
    RCC->APB1ENR |= RCC_APB1ENR_PWREN;
    (void)RCC->APB1ENR;
    PWR->CR |= PWR_CR_VOS; /* voltage scale 1 */
    RCC->CR |= RCC_CR_HSION;
    wait_until_set(&RCC->CR, RCC_CR_HSIRDY);
    /* HSI 16 MHz / M=8 = 2 MHz, x N=180 = 360 MHz VCO, / P=2 = 180 MHz (Q=8, R=2 unused) */
    RCC->PLLCFGR = (8u << RCC_PLLCFGR_PLLM_Pos) | (180u << RCC_PLLCFGR_PLLN_Pos) |
                   (0u << RCC_PLLCFGR_PLLP_Pos) | (8u << RCC_PLLCFGR_PLLQ_Pos) |
                   (2u << RCC_PLLCFGR_PLLR_Pos); /* PLLSRC = 0: HSI */
    RCC->CR |= RCC_CR_PLLON;
    wait_until_set(&RCC->CR, RCC_CR_PLLRDY);
    PWR->CR |= PWR_CR_ODEN; /* over-drive: needed above 168 MHz */
    wait_until_set(&PWR->CSR, PWR_CSR_ODRDY);
    PWR->CR |= PWR_CR_ODSWEN;
    wait_until_set(&PWR->CSR, PWR_CSR_ODSWRDY);
    FLASH->ACR = FLASH_ACR_LATENCY_5WS | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    while ((FLASH->ACR & FLASH_ACR_LATENCY) != FLASH_ACR_LATENCY_5WS) {
    }
    RCC->CFGR = RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2 | RCC_CFGR_SW_PLL;
    while ((RCC->CFGR & RCC_CFGR_SWS) != RCC_CFGR_SWS_PLL) {
    }
    SystemCoreClock = TN_CLOCK_HZ;
}

static void uart_init(void)
{
    RCC->AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
    RCC->APB1ENR |= RCC_APB1ENR_USART2EN;
    (void)RCC->APB1ENR;
    /* PA2 = USART2_TX, PA3 = USART2_RX: alternate function 7, RX pulled up */
    GPIOA->MODER = (GPIOA->MODER & ~((3u << 4) | (3u << 6))) | (2u << 4) | (2u << 6);
    GPIOA->OSPEEDR |= (3u << 4) | (3u << 6);
    GPIOA->PUPDR = (GPIOA->PUPDR & ~(3u << 6)) | (1u << 6);
    GPIOA->AFR[0] = (GPIOA->AFR[0] & ~((0xFu << 8) | (0xFu << 12))) | (7u << 8) | (7u << 12);
    /* 16x oversampling: BRR = f_ck / baud (RM0390 "fractional baud rate generation") */
    USART2->BRR = (PCLK1_HZ + TN_SERIAL_BAUD / 2u) / TN_SERIAL_BAUD;
    USART2->CR1 = USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE | USART_CR1_UE;
    NVIC_EnableIRQ(USART2_IRQn);
}

void USART2_IRQHandler(void)
{
    uint32_t status = USART2->SR;
    if (status & (USART_SR_RXNE | USART_SR_ORE)) {
        uint8_t byte = (uint8_t)USART2->DR; /* reading SR then DR also clears ORE */
        if (status & USART_SR_RXNE) {
            board_rx_push(byte);
        }
    }
}

void board_write(const uint8_t *data, uint32_t size)
{
    while (size-- > 0u) {
        while ((USART2->SR & USART_SR_TXE) == 0u) {
        }
        USART2->DR = *data++;
    }
}

void board_init(void)
{
    clock_init();
    RCC->APB1ENR |= RCC_APB1ENR_TIM2EN;
    (void)RCC->APB1ENR;
    board_counters_init(TN_CLOCK_HZ, TIM2_HZ);
    uart_init();
}
