# NUCLEO-F446RE: STM32F446RE, Cortex-M4F. Catalogue figures: devices/nucleo-f446re.toml.
# Its 128 KB firmware reserve is tight for TFLM + CMSIS-NN; the linker says so if it overflows.
set(TN_CPU_FLAGS -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
set(TN_TFLM_TARGET_ARCH cortex-m4+fp)
set(TN_DEVICE_DEFINE STM32F446xx)
set(TN_DEVICE_HEADER stm32f4xx.h)
set(TN_CMSIS_DEVICE_REPOSITORY https://github.com/STMicroelectronics/cmsis_device_f4.git)
set(TN_CMSIS_DEVICE_TAG v2.6.10)
set(TN_STARTUP_FILE Source/Templates/gcc/startup_stm32f446xx.s)
set(TN_SYSTEM_FILE Source/Templates/system_stm32f4xx.c)
set(TN_BOARD_SOURCE platform/stm32/board_nucleo_f446re.c)
set(TN_FLASH_ORIGIN 0x08000000)
set(TN_RAM_ORIGIN 0x20000000)                 # SRAM1 + SRAM2, contiguous
