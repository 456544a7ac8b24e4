// Helpers shared by every test suite: set-up, random tensors, closeness checks with the
// worst element reported, expected-error checks, and finite-difference gradient checks.
#ifndef GW_TESTUTIL_H
#define GW_TESTUTIL_H

#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdbool.h>

#include "groundwork.h"

// Initialises groundwork for one test (use as .init = gwt_setup, .fini = gwt_teardown);
// the teardown restores the thread count the test started with.
void gwt_setup(void);
void gwt_teardown(void);

// A stream seeded for tests.
gw_rng gwt_rng(uint64_t seed);
// Tensors with N(0, 1) or U(lo, hi) entries, in the current arena.
gw_tensor *gwt_randn(gw_rng *r, int ndim, const int64_t *shape);
gw_tensor *gwt_uniform(gw_rng *r, float lo, float hi, int ndim, const int64_t *shape);
// Random ints in [0, n).
gw_tensor *gwt_randint(gw_rng *r, int64_t n, int ndim, const int64_t *shape);
// The same values as t, as a leaf that requires a gradient.
gw_tensor *gwt_leaf(gw_tensor *t);

// Asserts |a - b| <= atol + rtol * |b| elementwise (shapes must match); on failure names the
// worst element, its index and both values.
void gwt_assert_close(const gw_tensor *actual, const gw_tensor *expected, double atol, double rtol,
                      const char *what);
// The same, for raw buffers.
void gwt_assert_close_buf(const float *actual, const float *expected, int64_t n, double atol,
                          double rtol, const char *what);
// Asserts bitwise equality.
void gwt_assert_same_bits(const gw_tensor *a, const gw_tensor *b, const char *what);

// GWT_EXPECT_ERROR(statement, "part of the message"): the statement must stop with a fatal
// error whose message contains the text.
extern _Thread_local jmp_buf *gwt_error_jump;
void gwt_expect_error_failed(const char *stmt, const char *want, bool raised);
#define GWT_EXPECT_ERROR(stmt, want)                                         \
  do {                                                                       \
    jmp_buf jb_;                                                             \
    jmp_buf *prev_ = gwt_error_jump;                                         \
    gwt_error_jump = &jb_;                                                   \
    volatile bool raised_ = false;                                                    \
    if (setjmp(jb_) == 0) {                                                  \
      stmt;                                                                  \
    } else {                                                                 \
      raised_ = true;                                                        \
    }                                                                        \
    gwt_error_jump = prev_;                                                  \
    if (!raised_ || !strstr(gw_last_error(), (want)))                        \
      gwt_expect_error_failed(#stmt, (want), raised_);                       \
  } while (0)

// Finite-difference gradient check. f maps the inputs to an output tensor; the check forms
// L = sum(w * f(inputs)) with random weights w (a plain sum would hide errors, e.g. make
// softmax's gradient zero), runs backward, and compares the gradient of every input that
// requires one with central differences (step eps) within atol + rtol * |numeric|.
typedef gw_tensor *(*gwt_fn)(gw_tensor *const *inputs, void *ctx);
void gwt_gradcheck(const char *name, gwt_fn f, void *ctx, int n, gw_tensor *const *inputs,
                   double eps, double atol, double rtol);
// Default step and tolerances for float32 central differences.
#define GWT_EPS 1e-2
#define GWT_ATOL 2e-3
#define GWT_RTOL 1e-2

#endif
