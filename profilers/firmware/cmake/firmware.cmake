# The profiler firmware for one board: the protocol engine + TFLM runner + board glue.
# Included by CMakeLists.txt when BOARD is set; needs the arm-none-eabi toolchain file.
if(NOT CMAKE_CROSSCOMPILING)
    message(FATAL_ERROR "BOARD=${BOARD} builds firmware, which needs a cross toolchain file "
        "(cmake/arm-none-eabi.cmake by default); leave BOARD empty for the native harness")
endif()
if(NOT EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/boards/${BOARD}.cmake")
    file(GLOB _ports RELATIVE "${CMAKE_CURRENT_SOURCE_DIR}/boards" boards/*.cmake)
    string(REPLACE ".cmake" "" _ports "${_ports}")
    message(FATAL_ERROR "no firmware port for board '${BOARD}'; ported boards: ${_ports}. "
                        "A port is boards/<board>.cmake plus platform/stm32/board_<board>.c")
endif()

enable_language(CXX ASM)
set(CMAKE_EXECUTABLE_SUFFIX ".elf")

include(cmake/catalogue.cmake)
tinynas_read_catalogue(${BOARD} "${CMAKE_CURRENT_SOURCE_DIR}/../../devices")
include(boards/${BOARD}.cmake)
include(cmake/tflm.cmake)

FetchContent_Declare(cmsis_device
    GIT_REPOSITORY ${TN_CMSIS_DEVICE_REPOSITORY}
    GIT_TAG ${TN_CMSIS_DEVICE_TAG}
    GIT_SHALLOW TRUE
)
FetchContent_MakeAvailable(cmsis_device)  # ST's device headers, start-up and SystemInit

math(EXPR _slot_expected "${TN_FLASH_ORIGIN} + ${TN_FIRMWARE_RESERVE_BYTES}")
if(TN_MODEL_SLOT_ADDRESS AND NOT TN_MODEL_SLOT_ADDRESS EQUAL _slot_expected)
    message(FATAL_ERROR "devices/${BOARD}.toml: model_slot_address ${TN_MODEL_SLOT_ADDRESS} is "
                        "not where the firmware reserve ends (${_slot_expected})")
endif()
configure_file(platform/stm32/linker.ld.in "${CMAKE_BINARY_DIR}/${BOARD}.ld" @ONLY)

set(_device_include "${cmsis_device_SOURCE_DIR}/Include")
set(_definitions
    ${TN_DEVICE_DEFINE}
    TN_DEVICE_HEADER="${TN_DEVICE_HEADER}"
    TN_BOARD="${BOARD}"
    TN_CORE="${TN_CORE}"
    TN_RUNTIME="tflm ${TFLM_SHORT_COMMIT}"
    TN_KERNELS="cmsis-nn ${CMSIS_NN_SHORT_COMMIT}"
    TN_CLOCK_HZ=${TN_CLOCK_HZ}
    TN_SRAM_BYTES=${TN_SRAM_BYTES}u
    TN_FLASH_BYTES=${TN_FLASH_BYTES}u
    TN_POOL_BYTES=${TN_POOL_BYTES}u
    TN_SLOT_ADDRESS=${TN_MODEL_SLOT_ADDRESS}u
    TN_SLOT_BYTES=${TN_SLOT_BYTES}u
    TN_SERIAL_BAUD=${TN_SERIAL_BAUD}u
)
include(cmake/profiler_target.cmake)
tinynas_profiler_target(
    LINKER_SCRIPT "${CMAKE_BINARY_DIR}/${BOARD}.ld"
    SOURCES
        platform/stm32/board_common.c
        ${TN_BOARD_SOURCE}
        "${cmsis_device_SOURCE_DIR}/${TN_SYSTEM_FILE}"
        "${cmsis_device_SOURCE_DIR}/${TN_STARTUP_FILE}"
    INCLUDES platform/stm32 "${_device_include}" "${TN_CMSIS_CORE_INCLUDE}"
    DEFINITIONS ${_definitions}
)

add_custom_command(TARGET tinynas-profiler POST_BUILD
    COMMAND ${CMAKE_OBJCOPY} -O binary $<TARGET_FILE:tinynas-profiler> tinynas-profiler.bin
    COMMAND ${CMAKE_OBJCOPY} -O ihex $<TARGET_FILE:tinynas-profiler> tinynas-profiler.hex
    COMMAND ${CMAKE_SIZE} $<TARGET_FILE:tinynas-profiler>
    WORKING_DIRECTORY "${CMAKE_BINARY_DIR}"
    COMMENT "tinynas-profiler.bin / .hex for ${BOARD} (tinynas flash FILE --device ${BOARD})"
)
