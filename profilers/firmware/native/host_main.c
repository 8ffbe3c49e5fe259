/* Native test harness: the portable protocol engine on a POSIX host, with the FAKE runner.
 *
 * It serves the profiler protocol on stdin/stdout, or with --pty on a fresh pseudo-terminal
 * whose path it prints ("... on /dev/pts/N"), so the Python host client (tinynas.profile)
 * drives the very engine a board runs. Nothing here is a measurement: the cycle counter is
 * virtual and advances only by the fake runner's fixed per-op cycles, the microsecond timer
 * follows it, and `info%` says emulated=1 with a latency_source naming the fake.
 *
 *     cc -std=c99 -Iengine engine/[a-z]*.c native/[a-z]*.c -o tinynas-native
 *     ./tinynas-native --pty                      # then: tinynas profile ... --port PATH
 */
#define _DEFAULT_SOURCE 1
#define _XOPEN_SOURCE 600

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fake_runner.h"
#include "protocol_engine.h"

#define LATENCY_SOURCE "fake runner of the native test harness: fixed cycles per op, not a " \
                       "measurement and not a latency model"

typedef struct {
    uint64_t cycles;   /* virtual cycle counter, advanced by the fake runner */
    uint32_t clock_hz;
    int fd_out;
} native_board;

typedef struct {
    tn_config config;
    fake_runner fake;
    native_board board;
    const char *slot_path;
    int use_pty;
    int us_timer;
    char default_ops[128];
} harness;

/* ---- platform ------------------------------------------------------------------------ */

static void board_write(void *ctx, const uint8_t *data, uint32_t size)
{
    native_board *board = (native_board *)ctx;
    while (size > 0u) {
        ssize_t n = write(board->fd_out, data, size);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            struct pollfd out = {board->fd_out, POLLOUT, 0};
            poll(&out, 1, 10);
            continue;
        }
        if (n <= 0) {
            exit(0); /* the host is gone */
        }
        data += n;
        size -= (uint32_t)n;
    }
}

static uint32_t board_cycles(void *ctx)
{
    return (uint32_t)((native_board *)ctx)->cycles;
}

static uint32_t board_timer_us(void *ctx)
{
    const native_board *board = (const native_board *)ctx;
    return (uint32_t)(board->cycles * 1000000u / board->clock_hz);
}

static uint32_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint32_t)((uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u);
}

/* ---- options ------------------------------------------------------------------------- */

static void usage(const char *problem)
{
    fprintf(stderr,
            "error: %s\n"
            "usage: tinynas-native [--pty] [--board NAME] [--core NAME] [--clock-hz N]\n"
            "  [--sram-bytes N] [--flash-bytes N] [--pool-bytes N] [--chunk-bytes N]\n"
            "  [--upload-idle-ms N] [--input-bytes N] [--output-bytes N]\n"
            "  [--persistent-bytes N] [--overhead-cycles N] [--ops NAME:CYCLES,...]\n"
            "  [--start-cycles N] [--slot FILE --slot-bytes N] [--no-us-timer] [--fail-invoke]\n",
            problem);
    exit(2);
}

static uint32_t number(const char *option, const char *text)
{
    char *end;
    unsigned long long value = strtoull(text, &end, 0);
    if (*text == '\0' || *end != '\0' || value > 0xFFFFFFFFull) {
        fprintf(stderr, "error: %s wants a number up to 4294967295, not '%s'\n", option, text);
        exit(2);
    }
    return (uint32_t)value;
}

static void set_defaults(harness *h)
{
    tn_config *c = &h->config;
    c->board = "native-fake";
    c->core = "host";
    c->runtime = "fake-runner native";
    c->kernels = "none (fake runner)";
    c->latency_source = LATENCY_SOURCE;
    c->counts = NULL; /* virtual cycles */
    c->emulated = 1;
    c->clock_hz = 100000000u;
    c->sram_bytes = 262144u;
    c->flash_bytes = 1048576u;
    c->pool_bytes = 196608u;
    c->chunk_bytes = 1024u;
    h->fake.input_bytes = 490u;
    h->fake.output_bytes = 12u;
    h->fake.persistent_bytes = 1024u;
    h->fake.overhead_cycles = 100u;
    h->board.cycles = 0x100000000ull - 50000u; /* near the wrap, so hosts meet it */
    h->us_timer = 1;
    strcpy(h->default_ops, "CONV_2D:120000,DEPTHWISE_CONV_2D:40000,CONV_2D:90000,"
                           "AVERAGE_POOL_2D:6000,FULLY_CONNECTED:8000,SOFTMAX:1500");
}

/* One option with a value; returns 0 when `name` is not such an option. */
static int value_option(harness *h, const char *name, const char *value)
{
    tn_config *c = &h->config;
    if (strcmp(name, "--board") == 0) c->board = value;
    else if (strcmp(name, "--core") == 0) c->core = value;
    else if (strcmp(name, "--clock-hz") == 0) c->clock_hz = number(name, value);
    else if (strcmp(name, "--sram-bytes") == 0) c->sram_bytes = number(name, value);
    else if (strcmp(name, "--flash-bytes") == 0) c->flash_bytes = number(name, value);
    else if (strcmp(name, "--pool-bytes") == 0) c->pool_bytes = number(name, value);
    else if (strcmp(name, "--chunk-bytes") == 0) c->chunk_bytes = number(name, value);
    else if (strcmp(name, "--upload-idle-ms") == 0) c->upload_idle_ms = number(name, value);
    else if (strcmp(name, "--slot-bytes") == 0) c->slot_bytes = number(name, value);
    else if (strcmp(name, "--input-bytes") == 0) h->fake.input_bytes = number(name, value);
    else if (strcmp(name, "--output-bytes") == 0) h->fake.output_bytes = number(name, value);
    else if (strcmp(name, "--persistent-bytes") == 0)
        h->fake.persistent_bytes = number(name, value);
    else if (strcmp(name, "--overhead-cycles") == 0) h->fake.overhead_cycles = number(name, value);
    else if (strcmp(name, "--start-cycles") == 0) h->board.cycles = number(name, value);
    else if (strcmp(name, "--slot") == 0) h->slot_path = value;
    else if (strcmp(name, "--ops") == 0) {
        if (!fake_runner_parse_ops(&h->fake, (char *)value)) usage("--ops wants NAME:CYCLES,...");
    } else return 0;
    return 1;
}

static void parse_options(harness *h, int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--pty") == 0) h->use_pty = 1;
        else if (strcmp(argv[i], "--fail-invoke") == 0) h->fake.fail_invoke = 1;
        else if (strcmp(argv[i], "--no-us-timer") == 0) h->us_timer = 0;
        else if (i + 1 < argc && value_option(h, argv[i], argv[i + 1])) ++i;
        else usage("unknown option or missing value");
    }
    if (h->config.clock_hz == 0u || h->config.chunk_bytes == 0u ||
        h->config.chunk_bytes > 0xFFFFu || h->config.pool_bytes % 16u != 0u) {
        usage("--clock-hz must be > 0, --chunk-bytes 1..65535, --pool-bytes a multiple of 16");
    }
}

/* ---- memory -------------------------------------------------------------------------- */

static void *allocate(size_t size, unsigned char fill)
{
    void *memory = NULL;
    if (posix_memalign(&memory, 16u, size > 0u ? size : 16u) != 0) {
        fprintf(stderr, "error: cannot allocate %zu bytes\n", size);
        exit(1);
    }
    memset(memory, fill, size > 0u ? size : 16u);
    return memory;
}

/* The flash slot: slot_bytes + 4 bytes of erased flash (0xFF), the --slot image over it. */
static void load_slot(harness *h)
{
    tn_config *c = &h->config;
    uint8_t *slot;
    FILE *file;
    size_t size;
    if (c->slot_bytes == 0u) {
        return;
    }
    slot = allocate((size_t)c->slot_bytes + 4u, 0xFF);
    if (h->slot_path != NULL) {
        file = fopen(h->slot_path, "rb");
        if (file == NULL) {
            fprintf(stderr, "error: cannot open slot image '%s'\n", h->slot_path);
            exit(2);
        }
        size = fread(slot, 1u, (size_t)c->slot_bytes + 4u, file);
        fclose(file);
        (void)size;
    }
    c->slot = slot;
}

/* ---- serial line --------------------------------------------------------------------- */

/* A pseudo-terminal in raw mode; returns the master, keeps the slave open (so a host may
 * close and reopen the port) and prints the slave's path. */
static int open_pty(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    struct termios raw;
    const char *path;
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 ||
        (path = ptsname(master)) == NULL) {
        perror("error: cannot create a pty");
        exit(1);
    }
    int slave = open(path, O_RDWR | O_NOCTTY);
    if (slave < 0 || tcgetattr(slave, &raw) != 0) {
        perror("error: cannot open the pty");
        exit(1);
    }
    cfmakeraw(&raw);
    tcsetattr(slave, TCSANOW, &raw);
    printf("tinynas native profiler harness (fake runner, not TFLM) on %s\n", path);
    fflush(stdout);
    return master;
}

static int serve(tn_engine *engine, int fd_in)
{
    uint8_t buffer[4096];
    for (;;) {
        struct pollfd in = {fd_in, POLLIN, 0};
        int ready = poll(&in, 1, (int)TN_POLL_MS);
        if (ready < 0 && errno != EINTR) {
            return 1;
        }
        if (ready > 0) {
            ssize_t n = read(fd_in, buffer, sizeof(buffer));
            if (n == 0 || (n < 0 && errno == EIO)) {
                return 0; /* end of input, or the pty's other side closed */
            }
            if (n > 0) {
                tn_engine_feed(engine, buffer, (uint32_t)n, now_ms());
            }
        }
        tn_engine_poll(engine, now_ms());
    }
}

int main(int argc, char **argv)
{
    static harness h;
    static tn_engine engine;
    tn_platform platform;
    tn_runner runner;
    int fd_in;

    signal(SIGPIPE, SIG_IGN);
    set_defaults(&h);
    fake_runner_parse_ops(&h.fake, h.default_ops);
    parse_options(&h, argc, argv);
    h.config.pool = allocate(h.config.pool_bytes, 0);
    load_slot(&h);
    h.board.clock_hz = h.config.clock_hz;
    h.fake.clock_cycles = &h.board.cycles;
    fd_in = h.use_pty ? open_pty() : STDIN_FILENO;
    h.board.fd_out = h.use_pty ? fd_in : STDOUT_FILENO;

    platform.ctx = &h.board;
    platform.write = board_write;
    platform.cycles = board_cycles;
    platform.timer_us = h.us_timer ? board_timer_us : NULL;
    fake_runner_bind(&h.fake, &runner);
    tn_engine_init(&engine, &h.config, &platform, &runner);
    return serve(&engine, fd_in);
}
