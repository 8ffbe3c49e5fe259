// tinynas profiler firmware: the protocol engine on the board's serial port, with TFLM +
// CMSIS-NN as its runner. Every figure of the board comes from CMake as TN_* compile
// definitions: from its catalogue TOML for STM32 boards (cmake/firmware.cmake,
// cmake/catalogue.cmake), from the machine's memory map for QEMU (cmake/qemu.cmake).
#include <cstdint>

#include "board.h"
#include "protocol_engine.h"
#include "tflm_runner.h"

#ifndef TN_CHUNK_BYTES
#define TN_CHUNK_BYTES 1024u  // upload frame payload: 89 ms at 115200 baud, 11 ms at 921600
#endif

#ifndef TN_EMULATED
#define TN_EMULATED 0
#endif
#ifndef TN_LATENCY_SOURCE
#define TN_LATENCY_SOURCE nullptr  // measured: the board's cycle counter
#endif
#ifndef TN_COUNTS
#define TN_COUNTS nullptr  // cycles
#endif

namespace {

// The model buffer and tensor arena (PROTOCOL.md section 7): RAM less the runtime reserve.
// The linker script keeps it out of .bss, so start-up code does not spend time zeroing it.
alignas(16) uint8_t g_pool[TN_POOL_BYTES] __attribute__((section(".bss.pool")));

tn_engine g_engine;
tn_config g_config;
tn_platform g_platform;
tn_runner g_runner;

void WriteBytes(void*, const uint8_t* data, uint32_t size) { board_write(data, size); }
uint32_t Cycles(void*) { return board_cycles(); }
uint32_t Micros(void*) { return board_micros(); }

void Configure() {
  tn_config& c = g_config;
  c.board = TN_BOARD;
  c.core = TN_CORE;
  c.runtime = TN_RUNTIME;
  c.kernels = TN_KERNELS;
  c.latency_source = TN_LATENCY_SOURCE;
  c.counts = TN_COUNTS;
  c.emulated = TN_EMULATED;
  c.clock_hz = TN_CLOCK_HZ;
  c.sram_bytes = TN_SRAM_BYTES;
  c.flash_bytes = TN_FLASH_BYTES;
  c.pool = g_pool;
  c.pool_bytes = TN_POOL_BYTES;
  c.slot = TN_SLOT_BYTES > 0 ? reinterpret_cast<const uint8_t*>(TN_SLOT_ADDRESS) : nullptr;
  c.slot_bytes = TN_SLOT_BYTES;
  c.chunk_bytes = TN_CHUNK_BYTES;
  c.upload_idle_ms = 0;  // the protocol's 5 s
  g_platform.ctx = nullptr;
  g_platform.write = WriteBytes;
  g_platform.cycles = Cycles;
  g_platform.timer_us = Micros;
}

void Banner() {
  static const char kBanner[] = "# tinynas profiler firmware (" TN_PROTOCOL ") on " TN_BOARD
                                ", " TN_RUNTIME ", " TN_KERNELS "\r\n";
  board_write(reinterpret_cast<const uint8_t*>(kBanner), sizeof(kBanner) - 1);
}

}  // namespace

int main() {
  board_init();
  Configure();
  tflm_runner_bind(&g_runner);
  tn_engine_init(&g_engine, &g_config, &g_platform, &g_runner);
  Banner();
  uint8_t received[64];
  for (;;) {
    uint32_t count = board_read(received, sizeof(received));
    uint32_t now = board_millis();
    if (count > 0) tn_engine_feed(&g_engine, received, count, now);
    tn_engine_poll(&g_engine, now);
    board_idle();
  }
}
