// The board's model runner: TensorFlow Lite Micro + CMSIS-NN, per-op cycles from DWT.
//
// One MicroInterpreter at a time lives in static storage and is rebuilt for every model (a
// model uploaded into the RAM pool, or read in place from the flash slot). Per-op cycles come
// from the hook TFLM calls around every op (MicroProfilerInterface, the interface of its
// MicroProfiler): MicroProfiler itself keeps 4096 events (about 80 KB of RAM) and has no
// accessor for them, so OpCycleProfiler below keeps a small table of its own. TFLM's log lines
// are captured while a model loads or runs (they become the error message) and are otherwise
// forwarded as "# tflm: ..." lines, which the host ignores.
#include "tflm_runner.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "board.h"
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#include "tensorflow/lite/micro/kernels/add.h"
#include "tensorflow/lite/micro/kernels/conv.h"
#include "tensorflow/lite/micro/kernels/depthwise_conv.h"
#include "tensorflow/lite/micro/kernels/fully_connected.h"
#include "tensorflow/lite/micro/kernels/mul.h"
#include "tensorflow/lite/micro/kernels/pad.h"
#include "tensorflow/lite/micro/kernels/pooling.h"
#include "tensorflow/lite/micro/kernels/softmax.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tensorflow/lite/schema/schema_utils.h"

namespace {

constexpr uint32_t kMaxEvents = 256;  // ops profiled per invoke (MLPerf Tiny models: < 100)
constexpr unsigned int kMaxOpTypes = 20;

class OpCycleProfiler : public tflite::MicroProfilerInterface {
 public:
  uint32_t BeginEvent(const char* tag) override {
    if (count_ == kMaxEvents) return kMaxEvents;
    tags_[count_] = tag;
    cycles_[count_] = 0;
    start_[count_] = board_cycles();
    return count_++;
  }
  void EndEvent(uint32_t handle) override {
    uint32_t now = board_cycles();
    if (handle < kMaxEvents) cycles_[handle] = now - start_[handle];
  }
  void Clear() { count_ = 0; }
  uint32_t count() const { return count_; }
  const char* tag(uint32_t event) const { return tags_[event]; }
  uint32_t cycles(uint32_t event) const { return cycles_[event]; }

 private:
  const char* tags_[kMaxEvents] = {};
  uint32_t start_[kMaxEvents] = {};
  uint32_t cycles_[kMaxEvents] = {};
  uint32_t count_ = 0;
};

using OpResolver = tflite::MicroMutableOpResolver<kMaxOpTypes>;

struct Runner {
  OpResolver resolver;
  OpCycleProfiler profiler;
  alignas(tflite::MicroInterpreter) uint8_t storage[sizeof(tflite::MicroInterpreter)];
  tflite::MicroInterpreter* interpreter = nullptr;
  const tflite::Model* model = nullptr;
  bool capturing = false;
  char log[TN_MESSAGE_BYTES] = {};  // the first TFLM log line while capturing
  uint32_t missing_bytes = 0;       // from "... missing: N" (TFLM's arena allocators)
  char name[48] = {};
};

Runner g_runner;

// The ops tinynas search spaces and the MLPerf Tiny models use, and the usual companions of
// int8 CNNs. The *_INT8 registrations are CMSIS-NN's int8-only kernels: tinynas models are
// int8 throughout, and leaving out the int4 / int16 paths keeps the firmware within its
// flash reserve.
void AddOps(OpResolver& r) {
  r.AddAdd(tflite::Register_ADD_INT8());
  r.AddAveragePool2D(tflite::Register_AVERAGE_POOL_2D_INT8());
  r.AddConcatenation();
  r.AddConv2D(tflite::Register_CONV_2D_INT8());
  r.AddDepthwiseConv2D(tflite::Register_DEPTHWISE_CONV_2D_INT8());
  r.AddDequantize();
  r.AddFullyConnected(tflite::Register_FULLY_CONNECTED_INT8());
  r.AddHardSwish();
  r.AddLogistic();
  r.AddMaxPool2D(tflite::Register_MAX_POOL_2D_INT8());
  r.AddMean();
  r.AddMul(tflite::Register_MUL_INT8());
  r.AddPad(tflite::Register_PAD_INT8());
  r.AddQuantize();
  r.AddRelu();
  r.AddRelu6();
  r.AddReshape();
  r.AddSoftmax(tflite::Register_SOFTMAX_INT8());
  r.AddSqueeze();
}

void CopyMessage(char* message, const char* text) {
  size_t i = 0;
  for (; text[i] != '\0' && i + 1 < TN_MESSAGE_BYTES; ++i) {
    message[i] = (text[i] == '\r' || text[i] == '\n') ? ' ' : text[i];
  }
  message[i] = '\0';
}

void ForwardLog(const char* text) {
  static const char kPrefix[] = "# tflm: ";
  char line[TN_MESSAGE_BYTES];
  CopyMessage(line, text);
  board_write(reinterpret_cast<const uint8_t*>(kPrefix), sizeof(kPrefix) - 1);
  board_write(reinterpret_cast<const uint8_t*>(line), static_cast<uint32_t>(strlen(line)));
  board_write(reinterpret_cast<const uint8_t*>("\r\n"), 2);
}

void OnDebugLog(const char* text) {
  Runner& r = g_runner;
  if (text[0] == '\0' || text[0] == '\r' || text[0] == '\n') return;  // MicroPrintf's "\r\n"
  if (!r.capturing) {
    ForwardLog(text);
    return;
  }
  const char* missing = strstr(text, "missing: ");
  if (missing != nullptr && r.missing_bytes == 0) {
    r.missing_bytes = static_cast<uint32_t>(strtoul(missing + 9, nullptr, 10));
  }
  if (r.log[0] == '\0') CopyMessage(r.log, text);
}

void BeginCapture() {
  g_runner.log[0] = '\0';
  g_runner.missing_bytes = 0;
  g_runner.capturing = true;
}

void Unload(void*) {
  Runner& r = g_runner;
  if (r.interpreter != nullptr) r.interpreter->~MicroInterpreter();
  r.interpreter = nullptr;
  r.model = nullptr;
}

tn_status Refuse(tn_status status, char* message, const char* text) {
  Unload(nullptr);
  CopyMessage(message, text);
  return status;
}

// AllocateTensors() failed: out of arena, or a model this runtime cannot prepare.
tn_status LoadFailed(uint32_t arena_bytes, char* message) {
  Runner& r = g_runner;
  char text[TN_MESSAGE_BYTES];
  if (r.missing_bytes > 0) {  // TFLM names the first allocation that failed: a lower bound
    snprintf(text, sizeof(text), "arena needs at least %lu bytes, %lu available after the model",
             static_cast<unsigned long>(arena_bytes + r.missing_bytes),
             static_cast<unsigned long>(arena_bytes));
    return Refuse(TN_ARENA_TOO_LARGE, message, text);
  }
  if (strstr(r.log, "llocate") != nullptr) {
    snprintf(text, sizeof(text), "arena needs more than %lu bytes, %lu available after the model",
             static_cast<unsigned long>(arena_bytes), static_cast<unsigned long>(arena_bytes));
    return Refuse(TN_ARENA_TOO_LARGE, message, text);
  }
  return Refuse(TN_BAD_MODEL, message, r.log[0] ? r.log : "TFLM could not prepare the model");
}

tn_status CheckModel(const uint8_t* model, uint32_t size, char* message) {
  flatbuffers::Verifier::Options options;
  options.check_alignment = false;  // a flash-slot model starts 4 bytes into its slot
  flatbuffers::Verifier verifier(model, size, options);
  if (!tflite::VerifyModelBuffer(verifier)) {
    return Refuse(TN_BAD_MODEL, message, "not a valid TFLite flatbuffer");
  }
  const tflite::Model* parsed = tflite::GetModel(model);
  if (parsed->version() != TFLITE_SCHEMA_VERSION) {
    snprintf(message, TN_MESSAGE_BYTES, "schema version %lu; this runtime reads version %d",
             static_cast<unsigned long>(parsed->version()), TFLITE_SCHEMA_VERSION);
    return TN_BAD_MODEL;
  }
  return TN_OK;
}

tn_status Load(void*, const uint8_t* model, uint32_t size, uint8_t* arena, uint32_t arena_bytes,
               tn_model_io* io, char* message) {
  Runner& r = g_runner;
  Unload(nullptr);
  tn_status checked = CheckModel(model, size, message);
  if (checked != TN_OK) return checked;
  BeginCapture();
  r.interpreter = new (r.storage) tflite::MicroInterpreter(
      tflite::GetModel(model), r.resolver, arena, arena_bytes, nullptr, &r.profiler);
  TfLiteStatus status = r.interpreter->initialization_status();
  if (status == kTfLiteOk) status = r.interpreter->AllocateTensors();
  r.capturing = false;
  if (status != kTfLiteOk) return LoadFailed(arena_bytes, message);
  if (r.interpreter->inputs_size() < 1 || r.interpreter->outputs_size() < 1 ||
      r.interpreter->input(0)->type != kTfLiteInt8 ||
      r.interpreter->output(0)->type != kTfLiteInt8) {
    return Refuse(TN_BAD_MODEL, message, "the model's input or output is not int8");
  }
  r.model = tflite::GetModel(model);
  TfLiteTensor* input = r.interpreter->input(0);
  TfLiteTensor* output = r.interpreter->output(0);
  io->input = reinterpret_cast<uint8_t*>(input->data.int8);
  io->input_bytes = static_cast<uint32_t>(input->bytes);
  io->output = reinterpret_cast<const uint8_t*>(output->data.int8);
  io->output_bytes = static_cast<uint32_t>(output->bytes);
  io->arena_used_bytes = static_cast<uint32_t>(r.interpreter->arena_used_bytes());
  return TN_OK;
}

tn_status Invoke(void*, char* message) {
  Runner& r = g_runner;
  r.profiler.Clear();
  BeginCapture();
  TfLiteStatus status = r.interpreter->Invoke();
  r.capturing = false;
  if (status == kTfLiteOk) return TN_OK;
  CopyMessage(message, r.log[0] ? r.log : "TFLM Invoke() failed");
  return TN_INVOKE_FAILED;
}

uint32_t OpCount(void*) { return g_runner.profiler.count(); }

// The op's TFLite name from the model: CONV_2D, ..., or CUSTOM:code.
const char* OpName(const tflite::Operator* op) {
  Runner& r = g_runner;
  const tflite::OperatorCode* code = r.model->operator_codes()->Get(op->opcode_index());
  tflite::BuiltinOperator builtin = tflite::GetBuiltinCode(code);
  if (builtin != tflite::BuiltinOperator_CUSTOM) return tflite::EnumNameBuiltinOperator(builtin);
  snprintf(r.name, sizeof(r.name), "CUSTOM:%s",
           code->custom_code() != nullptr ? code->custom_code()->c_str() : "");
  for (char* c = r.name; *c != '\0'; ++c) {
    if (*c == ',' || *c == ']') *c = '_';  // would end the m-op field
  }
  return r.name;
}

// Events map one-to-one onto the main subgraph's ops unless control flow (IF, WHILE) ran
// other subgraphs; then each event is reported under its own index and TFLM's tag.
void OpSample(void*, uint32_t event, tn_op_sample* sample) {
  Runner& r = g_runner;
  const auto* ops = r.model->subgraphs()->Get(0)->operators();
  bool one_to_one = ops != nullptr && ops->size() == r.profiler.count();
  sample->index = event;
  sample->name = one_to_one ? OpName(ops->Get(event)) : r.profiler.tag(event);
  sample->cycles = r.profiler.cycles(event);
}

}  // namespace

extern "C" void tflm_runner_bind(tn_runner* runner) {
  static bool ops_added = false;
  if (!ops_added) {
    AddOps(g_runner.resolver);
    RegisterDebugLogCallback(OnDebugLog);
    ops_added = true;
  }
  runner->ctx = &g_runner;
  runner->load = Load;
  runner->invoke = Invoke;
  runner->op_count = OpCount;
  runner->op_sample = OpSample;
  runner->unload = Unload;
}
