// Helpers for the suites that train real (tiny) runs: a temporary directory per suite with a
// shapes-world "tiny" data set made once, the gw binary, child processes, files, checkpoints.
//
// A suite calls gwr_suite_begin() from its PRE_ALL report hook (in the runner process, before
// any test) and gwr_suite_end() from POST_ALL; the tests (child processes) find the directory
// in the environment. The gw binary is $GW_BIN (the Makefile sets it), else ./gw.
#ifndef GW_TESTS_RUNUTIL_H
#define GW_TESTS_RUNUTIL_H

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "groundwork.h"

// ---- the gw binary ----

// The absolute path of the gw binary (asserts it exists).
static inline const char *gwr_gw(void) {
  static char path[PATH_MAX];
  if (path[0]) return path;
  const char *env = getenv("GW_BIN");
  const char *bin = env && env[0] ? env : "./gw";
  if (!realpath(bin, path) || access(path, X_OK) != 0) {
    path[0] = '\0';
    cr_assert_fail(
        "the gw binary '%s' is missing (GW_BIN=%s). HINT: run the suite with `make suite "
        "S=...`, which builds gw and passes GW_BIN",
        bin, env ? env : "(unset)");
  }
  return path;
}

// ---- the suite's directory and data set ----

// Makes the suite's temporary directory (exported as GWT_SUITE_DIR) and, with data, generates
// the tiny shapes-world data set into DIR/data with `gw data synth` (once for every test).
static inline void gwr_suite_begin(const char *name, bool data) {
  char dir[256];
  snprintf(dir, sizeof dir, "/tmp/gwt-%s-XXXXXX", name);
  if (!mkdtemp(dir)) {
    fprintf(stderr, "%s: cannot create a temporary directory: %s\n", name, strerror(errno));
    return;
  }
  setenv("GWT_SUITE_DIR", dir, 1);
  if (!data) return;
  const char *env = getenv("GW_BIN");
  char bin[PATH_MAX], cmd[2 * PATH_MAX];
  if (!realpath(env && env[0] ? env : "./gw", bin)) return;  // each test then says gw is missing
  snprintf(cmd, sizeof cmd,
           "'%s' data synth --preset tiny --out '%s/data' --quiet > '%s/data.log' 2>&1", bin, dir,
           dir);
  if (system(cmd) != 0)
    fprintf(stderr, "%s: generating the tiny data set failed; see %s/data.log\n", name, dir);
}

// Removes the suite's directory, unless GWT_KEEP is set (to look at the runs).
static inline void gwr_suite_end(void) {
  const char *dir = getenv("GWT_SUITE_DIR");
  if (!dir || getenv("GWT_KEEP")) {
    if (dir) fprintf(stderr, "the runs are kept in %s\n", dir);
    return;
  }
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

// The suite's directory.
static inline const char *gwr_dir(void) {
  const char *dir = getenv("GWT_SUITE_DIR");
  cr_assert(dir && dir[0], "GWT_SUITE_DIR is not set: the suite's PRE_ALL hook did not run");
  return dir;
}

// The suite's tiny data set (asserts it was generated).
static inline const char *gwr_data(void) {
  static char data[600];
  snprintf(data, sizeof data, "%s/data", gwr_dir());
  char meta[700];
  snprintf(meta, sizeof meta, "%s/meta.json", data);
  cr_assert(access(meta, F_OK) == 0, "the suite's tiny data set is missing (%s); see %s/data.log",
            meta, gwr_dir());
  return data;
}

// A path under the suite's directory, in one of 16 rotating buffers.
static inline const char *gwr_path(const char *fmt, ...) {
  static char bufs[16][1024];
  static int next;
  char *p = bufs[next++ % 16];
  int n = snprintf(p, 1024, "%s/", gwr_dir());
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p + n, 1024 - (size_t)n, fmt, ap);
  va_end(ap);
  return p;
}

// ---- files ----

static inline bool gwr_exists(const char *path) { return access(path, F_OK) == 0; }

// The whole file, NUL-terminated (the caller frees it); NULL if it cannot be read.
static inline char *gwr_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  fclose(f);
  s[got] = '\0';
  if (len) *len = got;
  return s;
}

static inline void gwr_write(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

// Do two files hold the same bytes?
static inline bool gwr_same_bytes(const char *a, const char *b) {
  size_t na = 0, nb = 0;
  char *x = gwr_read(a, &na), *y = gwr_read(b, &nb);
  bool same = x && y && na == nb && !memcmp(x, y, na);
  free(x);
  free(y);
  return same;
}

// The number of lines of a file that start with a digit (the rows of log.csv).
static inline int gwr_count_rows(const char *path) {
  char *s = gwr_read(path, NULL);
  cr_assert(s, "cannot read %s", path);
  int n = 0;
  for (char *l = s; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
    n += *l >= '0' && *l <= '9';
  free(s);
  return n;
}

// A small_cnn config on the suite's data set, written to DIR/<name>.yaml: 60 steps of batch 16,
// evaluation every 20 steps on the test split, a checkpoint every 10 steps, one thread (the
// tests change it with key=value overrides).
static inline const char *gwr_config(const char *name) {
  const char *path = gwr_path("%s.yaml", name);
  char text[4096];
  snprintf(text, sizeof text,
           "model:\n"
           "  name: small_cnn\n"
           "  channels: [8, 16]\n"
           "train:\n"
           "  steps: 60\n"
           "  batch_size: 16\n"
           "  lr: 3e-3\n"
           "  warmup_steps: 5\n"
           "  eval_every: 20\n"
           "  ckpt_every: 10\n"
           "  keep_last: 2\n"
           "  log_every: 1000\n"
           "  threads: 1\n"
           "data:\n"
           "  dir: %s\n"
           "  preset: none\n"
           "  eval_splits: test\n",
           gwr_data());
  gwr_write(path, text);
  return path;
}

// ---- child processes ----

// Starts `gw ARGS...` (NULL-terminated) with stdout and stderr into log_path; returns its pid.
static inline pid_t gwr_spawn_v(const char *log_path, va_list ap) {
  const char *argv[64];
  int argc = 0;
  argv[argc++] = gwr_gw();
  for (const char *a; (a = va_arg(ap, const char *)) && argc < 63;) argv[argc++] = a;
  argv[argc] = NULL;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  cr_assert(pid >= 0, "fork failed");
  if (pid == 0) {
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  return pid;
}

static inline pid_t gwr_spawn(const char *log_path, ...) {
  va_list ap;
  va_start(ap, log_path);
  pid_t pid = gwr_spawn_v(log_path, ap);
  va_end(ap);
  return pid;
}

// Waits for a child: its exit status, or 128 + the signal that ended it.
static inline int gwr_wait(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) cr_assert_fail("waitpid failed: %s", strerror(errno));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs `gw ARGS...` (NULL-terminated) to the end; returns its exit status. The output (stdout
// and stderr) is in log_path.
static inline int gwr_run(const char *log_path, ...) {
  va_list ap;
  va_start(ap, log_path);
  pid_t pid = gwr_spawn_v(log_path, ap);
  va_end(ap);
  return gwr_wait(pid);
}

// Asserts a file (a run's output) contains a text, showing the file when it does not.
#define GWR_ASSERT_FILE_HAS(path, text)                                      \
  do {                                                                       \
    char *s_ = gwr_read((path), NULL);                                       \
    cr_assert(s_, "cannot read %s", (path));                                 \
    if (!strstr(s_, (text)))                                                 \
      cr_assert_fail("%s does not contain \"%s\":\n%s", (path), (text), s_); \
    free(s_);                                                                \
  } while (0)

static inline double gwr_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void gwr_sleep(double seconds) {
  struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// ---- checkpoints ----

// The value of an integer attribute of a checkpoint (asserts it is there).
static inline int64_t gwr_ckpt_attr(const char *path, const char *attr) {
  gw_h5 *f = gw_h5_open(path);
  cr_assert(f, "%s", gw_last_error());
  int64_t v = 0;
  cr_assert_eq(gw_h5_get_attr_i64(f, "", attr, &v), 0, "%s: no attribute %s", path, attr);
  gw_h5_close(f);
  return v;
}

typedef struct gwr_names {
  int n;
  char name[512][256];
} gwr_names;

static inline void gwr_collect(const char *name, void *ctx) {
  gwr_names *l = ctx;
  if (l->n < 512) snprintf(l->name[l->n++], sizeof l->name[0], "%s", name);
}

// Every array of an HDF5 file, by name.
static inline void gwr_list(const char *path, gwr_names *out) {
  out->n = 0;
  gw_h5 *f = gw_h5_open(path);
  cr_assert(f, "%s", gw_last_error());
  cr_assert(gw_h5_list(f, "", gwr_collect, out) >= 0, "%s", gw_last_error());
  gw_h5_close(f);
}

// An array of an HDF5 file as doubles (exact for float32 and int32); the caller frees it.
static inline double *gwr_array(gw_h5 *f, const char *name, int64_t *count) {
  int nd;
  int64_t shape[GW_MAX_DIMS], n = 1;
  cr_assert_eq(gw_h5_array_shape(f, name, &nd, shape), 0, "%s", gw_last_error());
  for (int d = 0; d < nd; d++) n *= shape[d];
  double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
  cr_assert_eq(gw_h5_read_array(f, name, GW_H5_F64, nd, shape, v), 0, "%s", gw_last_error());
  *count = n;
  return v;
}

// Asserts two checkpoints hold the same arrays (names, shapes and every bit of every value:
// parameters, buffers, EMA weights, optimizer moments) and the same training state. Returns
// the number of arrays compared.
static inline int gwr_assert_same_checkpoint(const char *a, const char *b) {
  static gwr_names na, nb;
  gwr_list(a, &na);
  gwr_list(b, &nb);
  cr_assert_eq(na.n, nb.n, "%s has %d arrays, %s has %d", a, na.n, b, nb.n);
  gw_h5 *fa = gw_h5_open(a), *fb = gw_h5_open(b);
  cr_assert(fa && fb, "%s", gw_last_error());
  for (int i = 0; i < na.n; i++) {
    cr_assert_str_eq(na.name[i], nb.name[i], "array %d: %s vs %s", i, na.name[i], nb.name[i]);
    int64_t n1, n2;
    double *x = gwr_array(fa, na.name[i], &n1), *y = gwr_array(fb, nb.name[i], &n2);
    cr_assert_eq(n1, n2, "%s: %lld vs %lld values", na.name[i], (long long)n1, (long long)n2);
    for (int64_t k = 0; k < n1; k++)
      if (memcmp(&x[k], &y[k], sizeof x[k]))
        cr_assert_fail("%s differs at element %lld: %.9g in %s, %.9g in %s", na.name[i],
                       (long long)k, x[k], a, y[k], b);
    free(x);
    free(y);
  }
  static const char *const state[] = {"step",        "data_epoch",      "data_position",
                                      "dropout_key", "dropout_counter", "best_value_bits",
                                      "best_step",   "optim_step"};
  for (size_t k = 0; k < sizeof state / sizeof state[0]; k++) {
    int64_t u, v;
    cr_assert_eq(gw_h5_get_attr_i64(fa, "", state[k], &u), 0, "%s: no %s", a, state[k]);
    cr_assert_eq(gw_h5_get_attr_i64(fb, "", state[k], &v), 0, "%s: no %s", b, state[k]);
    cr_assert_eq(u, v, "%s: %lld in %s, %lld in %s", state[k], (long long)u, a, (long long)v, b);
  }
  char *ca = gw_h5_get_attr_str(fa, "", "config"), *cb = gw_h5_get_attr_str(fb, "", "config");
  cr_assert(ca && cb && !strcmp(ca, cb), "the checkpoints hold different configs");
  free(ca);
  free(cb);
  gw_h5_close(fa);
  gw_h5_close(fb);
  return na.n;
}

#endif
