# NUCLEO-F446RE: STM32F446RE, Cortex-M4F. Catalogue figures: devices/nucleo-f446re.toml.
# The catalogue's 128 KB firmware reserve is about 3 KB short of this firmware (about 134 KB
# with the pinned TFLM); the link stops with "region FLASH overflowed" until
# devices/nucleo-f446re.toml gives it sectors 0-5 (firmware_reserve_bytes = 262_144,
# model_slot_address = 0x08040000).
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
