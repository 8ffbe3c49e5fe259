# The profiler firmware for one of QEMU's Cortex-M machines: the protocol engine + the TFLM +
# CMSIS-NN runner + platform/qemu (start-up, CMSDK UART, SysTick). Included by CMakeLists.txt
# when QEMU_MACHINE is set; run it with `tinynas emulate QEMU_MACHINE --qemu FIRMWARE.elf`.
#
# QEMU runs it with -icount shift=0, so the counts it reports are INSTRUCTIONS (at a nominal
# 1 GHz, one instruction per ns of virtual time), not cycles; the firmware says so in info%.
if(NOT CMAKE_CROSSCOMPILING)
    message(FATAL_ERROR "QEMU_MACHINE=${QEMU_MACHINE} builds firmware, which needs a cross "
        "toolchain file (cmake/arm-none-eabi.cmake by default)")
endif()

# Both machines: 4 MiB of code SRAM at 0, 4 MiB of data SRAM at 0x20000000, the CMSDK UART0
# at 0x40004000 (RX interrupt 0), SysTick on a 25 MHz core clock (QEMU hw/arm/mps2.c).
if(QEMU_MACHINE STREQUAL "mps2-an386")
    set(TN_CPU_FLAGS -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
    set(TN_CORE cortex-m4f)
elseif(QEMU_MACHINE STREQUAL "mps2-an500")
    set(TN_CPU_FLAGS -mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16)
    set(TN_CORE cortex-m7)
else()
    message(FATAL_ERROR "no firmware port for QEMU machine '${QEMU_MACHINE}'; ported: "
                        "mps2-an386 (Cortex-M4F), mps2-an500 (Cortex-M7)")
endif()

enable_language(CXX ASM)
set(CMAKE_EXECUTABLE_SUFFIX ".elf")
include(cmake/tflm.cmake)

set(TN_QEMU_SRAM_BYTES 4194304)
set(TN_QEMU_POOL_BYTES 3145728)  # the rest: firmware data, TFLM's interpreter, stack
set(_source "QEMU ${QEMU_MACHINE} (${TN_CORE}) with -icount shift=0: instructions (1 ns of \
virtual time each) counted by SysTick in steps of 40, not cycles and not a measurement")
set(_definitions
    TN_BOARD="qemu-${QEMU_MACHINE}"
    TN_CORE="${TN_CORE}"
    TN_RUNTIME="tflm ${TFLM_SHORT_COMMIT}"
    TN_KERNELS="cmsis-nn ${CMSIS_NN_SHORT_COMMIT}"
    TN_EMULATED=1
    TN_LATENCY_SOURCE="${_source}"
    TN_COUNTS="instructions"
    TN_CLOCK_HZ=1000000000u
    TN_SRAM_BYTES=${TN_QEMU_SRAM_BYTES}u
    TN_FLASH_BYTES=4194304u
    TN_POOL_BYTES=${TN_QEMU_POOL_BYTES}u
    TN_SLOT_ADDRESS=0u
    TN_SLOT_BYTES=0u
    TN_CHUNK_BYTES=4096u
)
include(cmake/profiler_target.cmake)
tinynas_profiler_target(
    LINKER_SCRIPT "${CMAKE_CURRENT_SOURCE_DIR}/platform/qemu/linker.ld"
    SOURCES platform/qemu/board_qemu.c platform/qemu/startup.c
    DEFINITIONS ${_definitions}
)
add_custom_command(TARGET tinynas-profiler POST_BUILD
    COMMAND ${CMAKE_SIZE} $<TARGET_FILE:tinynas-profiler>
    COMMENT "tinynas emulate ${QEMU_MACHINE} --qemu ${CMAKE_BINARY_DIR}/tinynas-profiler.elf"
)
