# NUCLEO-L4R5ZI: STM32L4R5ZI, Cortex-M4F. Catalogue figures: devices/nucleo-l4r5zi.toml.
set(TN_CPU_FLAGS -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
set(TN_TFLM_TARGET_ARCH cortex-m4+fp)        # TFLM's cortex_m_generic TARGET_ARCH
set(TN_DEVICE_DEFINE STM32L4R5xx)             # selects the part in ST's device header
set(TN_DEVICE_HEADER stm32l4xx.h)
set(TN_CMSIS_DEVICE_REPOSITORY https://github.com/STMicroelectronics/cmsis_device_l4.git)
set(TN_CMSIS_DEVICE_TAG v1.7.4)
set(TN_STARTUP_FILE Source/Templates/gcc/startup_stm32l4r5xx.s)
set(TN_SYSTEM_FILE Source/Templates/system_stm32l4xx.c)
set(TN_BOARD_SOURCE platform/stm32/board_nucleo_l4r5zi.c)
set(TN_FLASH_ORIGIN 0x08000000)
set(TN_RAM_ORIGIN 0x20000000)                 # SRAM1-3 are contiguous from here
