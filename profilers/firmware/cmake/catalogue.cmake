# Read one board of the tinynas catalogue (devices/<BOARD>.toml) into CMake variables, so the
# firmware's memory map, clock and serial settings come from the same file the host uses.
#
# tinynas_read_catalogue(<board> <devices_dir>) sets, in the caller's scope:
#   TN_CORE, TN_CLOCK_HZ, TN_SRAM_BYTES, TN_FLASH_BYTES, TN_FIRMWARE_RESERVE_BYTES,
#   TN_RUNTIME_RESERVE_BYTES, TN_MODEL_SLOT_ADDRESS, TN_SERIAL_BAUD (decimal), and derived
#   TN_POOL_BYTES = sram - runtime reserve, TN_SLOT_BYTES = flash - firmware reserve - 4
#   (PROTOCOL.md section 7).
#
# Only top-level `key = value` lines are read (numbers with _ separators or 0x prefix, and
# "strings"), which is all the catalogue's scalar fields use.
#
# Script mode prints the values, for tests:
#   cmake -DBOARD=nucleo-l4r5zi -DDEVICES_DIR=devices -P profilers/firmware/cmake/catalogue.cmake

function(_tinynas_toml_value lines key out_var)
    foreach(line IN LISTS lines)
        if(line MATCHES "^${key}[ \t]*=[ \t]*([^#]*)")
            string(STRIP "${CMAKE_MATCH_1}" value)
            string(REGEX REPLACE "^\"(.*)\"$" "\\1" value "${value}")
            set(${out_var} "${value}" PARENT_SCOPE)
            return()
        endif()
    endforeach()
    message(FATAL_ERROR "devices/${BOARD}.toml has no '${key}'; the firmware build needs it")
endfunction()

function(_tinynas_toml_number lines key out_var)
    _tinynas_toml_value("${lines}" ${key} text)
    string(REPLACE "_" "" text "${text}")
    if(NOT text MATCHES "^(0x[0-9A-Fa-f]+|[0-9]+)$")
        message(FATAL_ERROR "'${key}' of the board's TOML is '${text}', not a number")
    endif()
    math(EXPR number "${text}" OUTPUT_FORMAT DECIMAL)
    set(${out_var} ${number} PARENT_SCOPE)
endfunction()

function(tinynas_read_catalogue board devices_dir)
    set(path "${devices_dir}/${board}.toml")
    if(NOT EXISTS "${path}")
        message(FATAL_ERROR "board '${board}' is not in the catalogue (no ${path}); "
                            "run 'tinynas devices' for the board names")
    endif()
    file(STRINGS "${path}" lines)
    # a [table] header ends the top-level keys
    set(top "")
    foreach(line IN LISTS lines)
        if(line MATCHES "^\\[")
            break()
        endif()
        list(APPEND top "${line}")
    endforeach()
    _tinynas_toml_value("${top}" core core)
    set(TN_CORE "${core}" PARENT_SCOPE)
    foreach(key clock_hz sram_bytes flash_bytes firmware_reserve_bytes runtime_reserve_bytes
                model_slot_address serial_baud)
        _tinynas_toml_number("${top}" ${key} value)
        string(TOUPPER "TN_${key}" name)
        set(${name} ${value} PARENT_SCOPE)
        set(${name} ${value})
    endforeach()
    math(EXPR pool "${TN_SRAM_BYTES} - ${TN_RUNTIME_RESERVE_BYTES}")
    math(EXPR slot "${TN_FLASH_BYTES} - ${TN_FIRMWARE_RESERVE_BYTES} - 4")
    if(TN_MODEL_SLOT_ADDRESS EQUAL 0)
        set(slot 0)
    endif()
    set(TN_POOL_BYTES ${pool} PARENT_SCOPE)
    set(TN_SLOT_BYTES ${slot} PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
    tinynas_read_catalogue("${BOARD}" "${DEVICES_DIR}")
    foreach(name TN_CORE TN_CLOCK_HZ TN_SRAM_BYTES TN_FLASH_BYTES TN_FIRMWARE_RESERVE_BYTES
                 TN_RUNTIME_RESERVE_BYTES TN_MODEL_SLOT_ADDRESS TN_SERIAL_BAUD TN_POOL_BYTES
                 TN_SLOT_BYTES)
        message("${name}=${${name}}")
    endforeach()
endif()
