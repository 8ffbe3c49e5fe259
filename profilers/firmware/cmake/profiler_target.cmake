# tinynas_profiler_target(): the profiler firmware executable every port shares: the protocol
# engine, platform/tflm (main loop, TFLM + CMSIS-NN runner) and the port's own SOURCES, compiled
# with the port's TN_CPU_FLAGS as TFLM is, linked with its LINKER_SCRIPT (newlib-nano).
#   tinynas_profiler_target(LINKER_SCRIPT <ld> SOURCES <files> [INCLUDES <dirs>]
#                           DEFINITIONS <TN_* definitions>)
function(tinynas_profiler_target)
    cmake_parse_arguments(arg "" "LINKER_SCRIPT" "SOURCES;INCLUDES;DEFINITIONS" ${ARGN})
    set(flags ${TN_CPU_FLAGS} -Os -ffunction-sections -fdata-sections)
    target_compile_options(tinynas_engine PRIVATE ${flags})
    add_executable(tinynas-profiler platform/tflm/main.cc platform/tflm/tflm_runner.cc
                   ${arg_SOURCES})
    target_include_directories(tinynas-profiler PRIVATE platform/tflm ${arg_INCLUDES})
    target_compile_definitions(tinynas-profiler PRIVATE ${arg_DEFINITIONS})
    target_compile_options(tinynas-profiler PRIVATE ${flags}
        $<$<COMPILE_LANGUAGE:CXX>:-fno-rtti -fno-exceptions -fno-threadsafe-statics>)
    set_target_properties(tinynas-profiler PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
    target_link_libraries(tinynas-profiler PRIVATE tinynas_engine tflm)
    target_link_options(tinynas-profiler PRIVATE ${TN_CPU_FLAGS} -T "${arg_LINKER_SCRIPT}"
        --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections
        -Wl,-Map=${CMAKE_BINARY_DIR}/tinynas-profiler.map)
endfunction()
