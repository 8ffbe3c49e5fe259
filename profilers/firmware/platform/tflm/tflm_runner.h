/* The board's model runner: TensorFlow Lite Micro with CMSIS-NN kernels, and a per-op cycle
 * profiler on TFLM's MicroProfilerInterface. Compiled only in the CMake firmware build. */
#ifndef TINYNAS_TFLM_RUNNER_H
#define TINYNAS_TFLM_RUNNER_H

#include "protocol_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fill `runner` with the TFLM runner's callbacks (one runner per firmware). */
void tflm_runner_bind(tn_runner *runner);

#ifdef __cplusplus
}
#endif

#endif /* TINYNAS_TFLM_RUNNER_H */
