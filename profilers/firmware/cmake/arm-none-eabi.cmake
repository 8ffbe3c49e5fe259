# CMake toolchain file for the GNU Arm Embedded toolchain (arm-none-eabi-gcc, newlib).
#
#   cmake ... -DCMAKE_TOOLCHAIN_FILE=profilers/firmware/cmake/arm-none-eabi.cmake
#
# The compilers are looked up on PATH; set ARM_TOOLCHAIN_DIR (the folder holding
# arm-none-eabi-gcc) to use another installation. CPU flags come from the board file
# (boards/<board>.cmake), not from here, so one toolchain file serves every board.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(ARM_TOOLCHAIN_DIR "" CACHE PATH "folder of arm-none-eabi-gcc (empty: search PATH)")
if(ARM_TOOLCHAIN_DIR)
    set(_prefix "${ARM_TOOLCHAIN_DIR}/arm-none-eabi-")
else()
    set(_prefix "arm-none-eabi-")
endif()

set(CMAKE_C_COMPILER "${_prefix}gcc")
set(CMAKE_CXX_COMPILER "${_prefix}g++")
set(CMAKE_ASM_COMPILER "${_prefix}gcc")
set(CMAKE_OBJCOPY "${_prefix}objcopy" CACHE FILEPATH "objcopy of the Arm toolchain")
set(CMAKE_SIZE "${_prefix}size" CACHE FILEPATH "size of the Arm toolchain")

# there is no operating system to link test programs against
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
