# TensorFlow Lite Micro + CMSIS-NN as a static library `tflm`, fetched at configure time.
#
# 1. FetchContent clones tflite-micro at TFLM_COMMIT (TFLM publishes no release tags).
# 2. TFLM's own project generator (create_tflm_tree.py, the documented way to use TFLM from
#    another build system) runs its Makefile's download scripts, which fetch CMSIS-NN, CMSIS,
#    flatbuffers, gemmlowp, ruy and kissfft at the versions pinned by that commit, and copies
#    the sources of the cortex_m_generic target with CMSIS-NN kernels into TFLM_TREE.
#    Needs: git, make, wget, unzip, a Python 3 with numpy and Pillow (TFLM's Makefile converts
#    its example data while it lists sources; pick one with -DPython3_EXECUTABLE=...), and
#    network access (once per build folder).
# 3. The tree's tensorflow/ sources and CMSIS-NN's sources are compiled with the board's CPU
#    flags, as TFLM's project-generation CI does (tools/ci_build/test_project_generation.sh).
#
# Offline, or to build against sources already on disk:
#   -DFETCHCONTENT_SOURCE_DIR_TFLITE_MICRO=<tflite-micro checkout at TFLM_COMMIT> (CMake's own
#       FetchContent override; the generator writes its gen/ and downloads/ folders there)
#   -DTFLM_DOWNLOADS_DIR=<folder> holding TFLM's third-party downloads as its Makefile leaves
#       them in tensorflow/lite/micro/tools/make/downloads (cmsis, cmsis_nn, flatbuffers,
#       gemmlowp, kissfft, pigweed, ruy) after `make -f tensorflow/lite/micro/tools/make/Makefile
#       TARGET=cortex_m_generic OPTIMIZED_KERNEL_DIR=cmsis_nn third_party_downloads` on an
#       online machine; each is linked into the tree, so TFLM's scripts skip their downloads.
include(FetchContent)

set(TFLM_DOWNLOADS_DIR "" CACHE PATH
    "TFLM's third-party downloads already on disk (empty: TFLM's scripts download them)")

set(TFLM_COMMIT 90b983c2b3f1480642e040bbd2ddb37b998f3424 CACHE STRING
    "tflite-micro commit the firmware is built against")
set(TFLM_TREE "${CMAKE_BINARY_DIR}/tflm-tree")

FetchContent_Declare(tflite_micro
    GIT_REPOSITORY https://github.com/tensorflow/tflite-micro.git
    GIT_TAG ${TFLM_COMMIT}
)
FetchContent_MakeAvailable(tflite_micro)  # no CMakeLists.txt there: this only downloads

function(_tinynas_check_python)
    find_package(Python3 COMPONENTS Interpreter REQUIRED)
    execute_process(COMMAND "${Python3_EXECUTABLE}" -c "import numpy, PIL"
                    RESULT_VARIABLE missing OUTPUT_QUIET ERROR_QUIET)
    if(NOT missing EQUAL 0)
        message(FATAL_ERROR "TFLM's Makefile needs numpy and Pillow in ${Python3_EXECUTABLE}: "
                            "pip install numpy pillow, or pass -DPython3_EXECUTABLE=<a python "
                            "that has them>")
    endif()
    set(Python3_EXECUTABLE "${Python3_EXECUTABLE}" PARENT_SCOPE)
endfunction()

function(_tinynas_link_downloads)
    if(NOT TFLM_DOWNLOADS_DIR)
        return()
    endif()
    if(NOT EXISTS "${TFLM_DOWNLOADS_DIR}/cmsis_nn" OR NOT EXISTS "${TFLM_DOWNLOADS_DIR}/cmsis")
        message(FATAL_ERROR "TFLM_DOWNLOADS_DIR=${TFLM_DOWNLOADS_DIR} holds no cmsis and "
                            "cmsis_nn folders: point it at TFLM's tools/make/downloads folder")
    endif()
    set(downloads "${tflite_micro_SOURCE_DIR}/tensorflow/lite/micro/tools/make/downloads")
    file(MAKE_DIRECTORY "${downloads}")
    file(GLOB entries RELATIVE "${TFLM_DOWNLOADS_DIR}" "${TFLM_DOWNLOADS_DIR}/*")
    foreach(entry ${entries})
        if(IS_DIRECTORY "${TFLM_DOWNLOADS_DIR}/${entry}" AND NOT EXISTS "${downloads}/${entry}")
            file(CREATE_LINK "${TFLM_DOWNLOADS_DIR}/${entry}" "${downloads}/${entry}" SYMBOLIC)
        endif()
    endforeach()
endfunction()

function(_tinynas_generate_tflm_tree)
    _tinynas_check_python()
    foreach(tool make wget unzip)
        find_program(_tool_${tool} ${tool})
        if(NOT _tool_${tool})
            message(FATAL_ERROR "'${tool}' is needed to fetch TFLM's third-party code; "
                                "install it and configure again")
        endif()
    endforeach()
    get_filename_component(toolchain_dir "${CMAKE_C_COMPILER}" DIRECTORY)
    if(NOT toolchain_dir)  # a bare compiler name: where PATH finds it
        find_program(_gcc_path "${CMAKE_C_COMPILER}")
        get_filename_component(toolchain_dir "${_gcc_path}" DIRECTORY)
    endif()
    # TARGET_TOOLCHAIN_ROOT keeps TFLM's Makefile from downloading a compiler of its own
    _tinynas_link_downloads()
    set(options "TARGET=cortex_m_generic TARGET_ARCH=project_generation "
                "OPTIMIZED_KERNEL_DIR=cmsis_nn TARGET_TOOLCHAIN_ROOT=${toolchain_dir}/")
    string(CONCAT options ${options})
    message(STATUS "Generating the TFLM source tree in ${TFLM_TREE} (downloads CMSIS-NN ...)")
    # the Makefile runs `python3`: let that be the interpreter checked above
    get_filename_component(python_dir "${Python3_EXECUTABLE}" DIRECTORY)
    execute_process(
        COMMAND "${CMAKE_COMMAND}" -E env "PATH=${python_dir}:$ENV{PATH}"
                "${Python3_EXECUTABLE}"
                tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py
                --makefile_options "${options}" "${TFLM_TREE}"
        WORKING_DIRECTORY "${tflite_micro_SOURCE_DIR}"
        RESULT_VARIABLE status
        ERROR_VARIABLE errors
    )
    if(NOT status EQUAL 0)
        file(REMOVE_RECURSE "${TFLM_TREE}")
        message(FATAL_ERROR "TFLM's project generator failed (${status}):\n${errors}")
    endif()
endfunction()

if(NOT EXISTS "${TFLM_TREE}/tensorflow/lite/micro/micro_interpreter.h")
    _tinynas_generate_tflm_tree()
endif()

set(_tflm_make "${tflite_micro_SOURCE_DIR}/tensorflow/lite/micro/tools/make")

# The CMSIS-NN commit TFLM pinned, for the firmware's `info%` (kernels=cmsis-nn <commit>)
file(STRINGS "${_tflm_make}/ext_libs/cmsis_nn_download.sh" _cmsis_nn_line
     REGEX "^ZIP_PREFIX_NN=")
string(REGEX MATCH "[0-9a-f]+" CMSIS_NN_COMMIT "${_cmsis_nn_line}")
string(SUBSTRING "${TFLM_COMMIT}" 0 8 TFLM_SHORT_COMMIT)
string(SUBSTRING "${CMSIS_NN_COMMIT}" 0 8 CMSIS_NN_SHORT_COMMIT)

file(GLOB_RECURSE TFLM_SOURCES CONFIGURE_DEPENDS
    "${TFLM_TREE}/tensorflow/*.cc" "${TFLM_TREE}/tensorflow/*.c"
    "${TFLM_TREE}/third_party/cmsis_nn/*.c")
add_library(tflm STATIC ${TFLM_SOURCES})
target_include_directories(tflm SYSTEM PUBLIC
    "${TFLM_TREE}"
    "${TFLM_TREE}/third_party/flatbuffers/include"
    "${TFLM_TREE}/third_party/gemmlowp"
    "${TFLM_TREE}/third_party/ruy"
    "${TFLM_TREE}/third_party/kissfft"
    PRIVATE
    "${TFLM_TREE}/third_party/cmsis"
    "${TFLM_TREE}/third_party/cmsis/CMSIS/Core/Include"
    "${TFLM_TREE}/third_party/cmsis_nn"
    "${TFLM_TREE}/third_party/cmsis_nn/Include"
)
# The tree holds only the top level of CMSIS/Core/Include (enough for CMSIS-NN); ST's device
# headers need all of it, which TFLM's download of the same CMSIS release has.
set(TN_CMSIS_CORE_INCLUDE "${_tflm_make}/downloads/cmsis/CMSIS/Core/Include")
# No TF_LITE_STRIP_ERROR_STRINGS: it would also remove the per-op profiler hook.
# PROJECT_GENERATION: TFLM's own cycle-counter code stays a stub; the firmware reads DWT itself.
target_compile_definitions(tflm PUBLIC
    TF_LITE_STATIC_MEMORY TF_LITE_MCU_DEBUG_LOG CMSIS_NN NDEBUG
    ARM_NN_ENABLE_F16=0 ARM_NN_ENABLE_F32=0
    PRIVATE PROJECT_GENERATION TF_LITE_DISABLE_X86_NEON)
# TFLM's own build: the core for size (-Os), kernels and CMSIS-NN for speed (-O2)
file(GLOB_RECURSE _tflm_kernels "${TFLM_TREE}/tensorflow/lite/micro/kernels/*.cc"
                                "${TFLM_TREE}/third_party/cmsis_nn/*.c")
set_source_files_properties(${_tflm_kernels} PROPERTIES COMPILE_OPTIONS -O2)
target_compile_options(tflm PRIVATE ${TN_CPU_FLAGS} -Os -funsigned-char -fomit-frame-pointer
    -ffunction-sections -fdata-sections -fno-unwind-tables -fno-asynchronous-unwind-tables
    $<$<COMPILE_LANGUAGE:CXX>:-fno-rtti -fno-exceptions -fno-threadsafe-statics>)
set_target_properties(tflm PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON C_STANDARD 11)
