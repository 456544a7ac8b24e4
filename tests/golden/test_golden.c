// Golden tests (tier 2 of STYLE.md): every autograd op against PyTorch.
//
// tests/golden/make_fixtures.py runs each op in PyTorch (in float64, from float32 inputs) and
// writes tests/golden/fixtures/golden.h5: for each case the inputs, the op's arguments (as
// attributes), the output, a random upstream gradient (the seed) and the gradient of every
// float input. Here each case is rebuilt, run forward, run backward from the same seed, and
// compared: the forward within atol 1e-5 + rtol 1e-4, the gradients within atol 1e-4 +
// rtol 1e-3, with the worst element named on failure.
//
// There is one Test per op family; each runs every case of its family, and checks that it
// ran as many as the family's `count` attribute says and read every array of every case
// (so a case or an input the C side forgot is a failure, not a silent pass).
//
// The file is $GW_GOLDEN_DIR/golden.h5, by default tests/golden/fixtures/golden.h5 relative
// to the working directory (make test runs from the repository root). A missing file fails
// every test. Regenerate it with `make fixtures`.
#include <hdf5.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define FWD_ATOL 1e-5
#define FWD_RTOL 1e-4
#define GRAD_ATOL 1e-4
#define GRAD_RTOL 1e-3

TestSuite(golden, .init = gwt_setup, .fini = gwt_teardown);

// ---------------------------------------------------------------------------------------
// The fixture file
// ---------------------------------------------------------------------------------------

typedef struct golden_file {
  gw_h5 *h5;    // tensors and scalar attributes, through tensor/h5io.h
  hid_t file;   // the same file through HDF5 itself, for float and list attributes
  char path[1024];
} golden_file;

static golden_file golden_open(void) {
  golden_file g = {0};
  const char *dir = getenv("GW_GOLDEN_DIR");
  if (!dir || !dir[0]) dir = "tests/golden/fixtures";
  snprintf(g.path, sizeof g.path, "%s/golden.h5", dir);
  g.h5 = gw_h5_open(g.path);
  if (!g.h5)
    cr_assert_fail("golden fixtures: %s. HINT: run the tests from the repository root, or set "
                   "GW_GOLDEN_DIR; regenerate the file with `make fixtures` (Debian's "
                   "/usr/bin/python3 with python3-torch and python3-h5py)",
                   gw_last_error());
  g.file = H5Fopen(g.path, H5F_ACC_RDONLY, H5P_DEFAULT);
  cr_assert(g.file >= 0, "golden fixtures: HDF5 cannot open %s", g.path);
  return g;
}

static void golden_close(golden_file *g) {
  H5Fclose(g->file);
  gw_h5_close(g->h5);
}

// ---------------------------------------------------------------------------------------
// One case: its group, what has been read from it, and the leaves that take gradients
// ---------------------------------------------------------------------------------------

enum { MAX_LEAVES = 8, MAX_READ = 32, MAX_OUTS = 8, NAME_LEN = 48 };

typedef struct gcase {
  golden_file *g;
  char path[64];   // "arith/003"
  char op[32];     // the op's name, attribute `op`
  int n_leaves;
  char leaf_name[MAX_LEAVES][NAME_LEN];
  gw_tensor *leaf[MAX_LEAVES];
  int n_read;      // names of the arrays read so far: every array must be used
  char read[MAX_READ][NAME_LEN];
} gcase;

// "arith/003 (add (3, 4) with (4,))": names the case in every message. Static, so that it
// survives the longjmp out of an op that stops with an error.
static char case_label[320];

static bool is(const char *a, const char *b) { return strcmp(a, b) == 0; }

static void full_name(const gcase *c, const char *name, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s", c->path, name);
}

static bool has(gcase *c, const char *name) {
  char full[128];
  full_name(c, name, full, sizeof full);
  return gw_h5_exists(c->g->h5, full);
}

static void mark_read(gcase *c, const char *name) {
  cr_assert(c->n_read < MAX_READ, "%s: too many arrays", case_label);
  snprintf(c->read[c->n_read++], NAME_LEN, "%s", name);
}

// The array `name` of the case, as a new tensor (float32 or int32, as stored).
static gw_tensor *array(gcase *c, const char *name) {
  char full[128];
  full_name(c, name, full, sizeof full);
  gw_tensor *t = gw_h5_read_tensor(c->g->h5, full);
  cr_assert(t, "%s: %s", case_label, gw_last_error());
  mark_read(c, name);
  return t;
}

// ---- attributes ----

static bool attr_has(gcase *c, const char *object, const char *name) {
  return H5Aexists_by_name(c->g->file, object, name, H5P_DEFAULT) > 0;
}

// Reads a numeric attribute of the case group (scalar or list) as `type`; returns the count.
static int attr_read(gcase *c, const char *name, hid_t type, void *out, int max) {
  cr_assert(attr_has(c, c->path, name), "%s: the fixture has no attribute '%s'", case_label, name);
  hid_t a = H5Aopen_by_name(c->g->file, c->path, name, H5P_DEFAULT, H5P_DEFAULT);
  hid_t space = H5Aget_space(a);
  int n = (int)H5Sget_simple_extent_npoints(space);
  cr_assert(n >= 1 && n <= max, "%s: attribute '%s' has %d values (at most %d expected)",
            case_label, name, n, max);
  cr_assert(H5Aread(a, type, out) >= 0, "%s: cannot read attribute '%s'", case_label, name);
  H5Sclose(space);
  H5Aclose(a);
  return n;
}

static int64_t attr_int(gcase *c, const char *name) {
  int64_t v;
  attr_read(c, name, H5T_NATIVE_INT64, &v, 1);
  return v;
}

static float attr_float(gcase *c, const char *name) {
  double v;
  attr_read(c, name, H5T_NATIVE_DOUBLE, &v, 1);
  return (float)v;
}

static int attr_ints(gcase *c, const char *name, int64_t *out, int max) {
  return attr_read(c, name, H5T_NATIVE_INT64, out, max);
}

// An int list as int (dims, permutations); returns the count.
static int attr_int_list(gcase *c, const char *name, int *out, int max) {
  int64_t v[GW_MAX_DIMS * 2];
  int n = attr_ints(c, name, v, max < GW_MAX_DIMS * 2 ? max : GW_MAX_DIMS * 2);
  for (int i = 0; i < n; i++) out[i] = (int)v[i];
  return n;
}

// A string attribute of the case group or one of its arrays, into buf.
static void attr_str(gcase *c, const char *object, const char *name, char *buf, size_t size) {
  char *s = gw_h5_get_attr_str(c->g->h5, object, name);
  cr_assert(s, "%s: %s", case_label, gw_last_error());
  snprintf(buf, size, "%s", s);
  free(s);
}

static gw_reduction attr_reduction(gcase *c) {
  char r[16];
  attr_str(c, c->path, "reduction", r, sizeof r);
  if (is(r, "mean")) return GW_MEAN;
  if (is(r, "sum")) return GW_SUM;
  if (is(r, "none")) return GW_NONE;
  if (is(r, "batchmean")) return GW_BATCHMEAN;
  cr_assert_fail("%s: unknown reduction '%s'", case_label, r);
  return GW_MEAN;
}

// ---- inputs ----

// Applies a view recipe ("transpose -1 -2", "slice 1 1 8 2", "permute 2 0 1", "expand 2 3 4",
// joined by ';') with the autograd view ops, so the gradient flows back to the base tensor.
static gw_tensor *apply_view(gw_tensor *t, const char *recipe) {
  char buf[128], *save = NULL;
  snprintf(buf, sizeof buf, "%s", recipe);
  for (char *step = strtok_r(buf, ";", &save); step; step = strtok_r(NULL, ";", &save)) {
    char kind[16];
    int a[GW_MAX_DIMS], used = 0, n = 0;
    cr_assert(sscanf(step, " %15s%n", kind, &used) == 1, "%s: bad view '%s'", case_label, step);
    for (char *p = step + used; n < GW_MAX_DIMS && sscanf(p, "%d%n", &a[n], &used) == 1; p += used)
      n++;
    if (is(kind, "transpose") && n == 2) {
      t = gw_transpose(t, a[0], a[1]);
    } else if (is(kind, "permute") && n == t->ndim) {
      t = gw_permute(t, a);
    } else if (is(kind, "slice") && n == 4) {
      t = gw_slice(t, a[0], a[1], a[2], a[3]);
    } else if (is(kind, "expand") && n >= t->ndim) {
      int64_t shape[GW_MAX_DIMS];
      for (int i = 0; i < n; i++) shape[i] = a[i];
      t = gw_expand(t, n, shape);
    } else {
      cr_assert_fail("%s: unknown view '%s'", case_label, step);
    }
  }
  return t;
}

// Input `name`: a leaf that requires a gradient when the fixture has grad_<name>, seen through
// its view when the array has a `view` attribute.
static gw_tensor *in(gcase *c, const char *name) {
  gw_tensor *t = array(c, name);
  char grad_name[NAME_LEN];
  snprintf(grad_name, sizeof grad_name, "grad_%s", name);
  if (t->dtype == GW_F32 && has(c, grad_name)) {
    cr_assert(c->n_leaves < MAX_LEAVES, "%s: too many inputs", case_label);
    gw_set_requires_grad(t, true);
    snprintf(c->leaf_name[c->n_leaves], NAME_LEN, "%s", name);
    c->leaf[c->n_leaves++] = t;
  }
  char full[128];
  full_name(c, name, full, sizeof full);
  if (attr_has(c, full, "view")) {
    char recipe[128];
    attr_str(c, full, "view", recipe, sizeof recipe);
    t = apply_view(t, recipe);
  }
  return t;
}

// An optional input (bias, mask, ...): NULL when the case has none.
static gw_tensor *in_opt(gcase *c, const char *name) { return has(c, name) ? in(c, name) : NULL; }

// ---------------------------------------------------------------------------------------
// Comparing a case
// ---------------------------------------------------------------------------------------

static void assert_same_ints(const gw_tensor *got, const gw_tensor *want, const char *what) {
  cr_assert(got->dtype == GW_I32 && want->dtype == GW_I32, "%s: expected int32 tensors", what);
  cr_assert(gw_same_shape(got, want), "%s: shape %s, expected %s", what, gw_shape_str(got),
            gw_shape_str(want));
  gw_tensor *a = gw_contiguous(got);
  for (int64_t i = 0; i < gw_numel(a); i++)
    cr_assert(gw_i32(a)[i] == gw_i32(want)[i],
              "%s: differs at flat index %lld: got %d, expected %d", what, (long long)i,
              gw_i32(a)[i], gw_i32(want)[i]);
}

// Compares an int32 result with the array `name` (argmax indices).
static void expect_ints(gcase *c, const char *name, const gw_tensor *got) {
  char what[400];
  snprintf(what, sizeof what, "%s: %s", case_label, name);
  assert_same_ints(got, array(c, name), what);
}

static void count_unread(const char *name, void *ctx) {
  gcase *c = ctx;
  for (int i = 0; i < c->n_read; i++)
    if (is(c->read[i], name)) return;
  cr_assert_fail("%s: the fixture array '%s' was not used by the test (an input or output the C "
                 "side does not know?)",
                 case_label, name);
}

// Forward outputs against out / out0.., backward from seed / seed0.., then every gradient.
static void check_case(gcase *c, int n_out, gw_tensor **outs) {
  char what[400], name[NAME_LEN + 8];
  for (int k = 0; k < n_out; k++) {
    snprintf(name, sizeof name, n_out == 1 ? "out" : "out%d", k);
    gw_tensor *want = array(c, name);
    snprintf(what, sizeof what, "%s: forward %s", case_label, name);
    if (want->dtype == GW_I32)
      assert_same_ints(outs[k], want, what);
    else
      gwt_assert_close(outs[k], want, FWD_ATOL, FWD_RTOL, what);
  }
  for (int k = 0; k < n_out; k++) {
    snprintf(name, sizeof name, n_out == 1 ? "seed" : "seed%d", k);
    if (!has(c, name)) continue;
    cr_assert(outs[k]->requires_grad, "%s: output %d does not require a gradient", case_label, k);
    gw_backward_seeded(outs[k], array(c, name));
  }
  for (int i = 0; i < c->n_leaves; i++) {
    gw_tensor *leaf = c->leaf[i];
    snprintf(name, sizeof name, "grad_%s", c->leaf_name[i]);
    gw_tensor *want = array(c, name);
    // No gradient at all reads as zeros: right only where the reference is zero too.
    gw_tensor *got = leaf->grad ? leaf->grad : gw_zeros_like(leaf);
    snprintf(what, sizeof what, "%s: gradient of %s", case_label, c->leaf_name[i]);
    gwt_assert_close(got, want, GRAD_ATOL, GRAD_RTOL, what);
  }
  gw_h5_list(c->g->h5, c->path, count_unread, c);
}

// ---------------------------------------------------------------------------------------
// Running a family
// ---------------------------------------------------------------------------------------

// Runs the case's op and fills outs; returns the number of outputs.
typedef int (*run_fn)(gcase *c, gw_tensor **outs);

static void unknown_op(gcase *c) {
  cr_assert_fail("%s: the test does not know the op '%s'", case_label, c->op);
}

static void run_family(const char *family, run_fn run) {
  golden_file g = golden_open();
  int64_t count = 0;
  cr_assert(gw_h5_get_attr_i64(g.h5, family, "count", &count) == 0,
            "golden fixtures: no family '%s' in %s (%s). HINT: regenerate with `make fixtures`",
            family, g.path, gw_last_error());
  H5G_info_t info;
  cr_assert(H5Gget_info_by_name(g.file, family, &info, H5P_DEFAULT) >= 0, "%s: no group", family);
  cr_assert_eq((int64_t)info.nlinks, count, "%s: %lld cases in the file but count says %lld",
               family, (long long)info.nlinks, (long long)count);
  int64_t ran = 0;
  for (int64_t i = 0; i < count; i++) {
    gcase c = {.g = &g};
    snprintf(c.path, sizeof c.path, "%s/%03lld", family, (long long)i);
    cr_assert(gw_h5_exists(g.h5, c.path), "%s: case %s is missing", g.path, c.path);
    snprintf(case_label, sizeof case_label, "%s", c.path);
    attr_str(&c, c.path, "op", c.op, sizeof c.op);
    char desc[240];
    attr_str(&c, c.path, "desc", desc, sizeof desc);
    snprintf(case_label, sizeof case_label, "%s (%s)", c.path, desc);
    // An op that stops with an error (a shape it refuses) fails the case by name.
    jmp_buf jb;
    gwt_error_jump = &jb;
    if (setjmp(jb) != 0) {
      gwt_error_jump = NULL;
      cr_assert_fail("%s: the op stopped with: %s", case_label, gw_last_error());
    }
    gw_tensor *outs[MAX_OUTS];
    int n_out = run(&c, outs);
    check_case(&c, n_out, outs);
    gwt_error_jump = NULL;
    gw_step_end();  // frees the case's tensors and tape
    ran++;
  }
  cr_assert_eq(ran, count, "%s: ran %lld of %lld cases", family, (long long)ran, (long long)count);
  golden_close(&g);
}

// ---------------------------------------------------------------------------------------
// The families: each maps a case's op and arguments onto the gw_ call
// ---------------------------------------------------------------------------------------

static int run_arith(gcase *c, gw_tensor **out) {
  const char *op = c->op;
  if (is(op, "mul_self")) {
    gw_tensor *x = in(c, "x");
    out[0] = gw_mul(x, x);
  } else if (is(op, "where")) {
    gw_tensor *cond = in(c, "cond"), *a = in(c, "a"), *b = in(c, "b");
    out[0] = gw_where(cond, a, b);
  } else if (is(op, "masked_fill")) {
    gw_tensor *a = in(c, "a"), *mask = in(c, "mask");
    out[0] = gw_masked_fill(a, mask, attr_float(c, "value"));
  } else {
    gw_tensor *a = in(c, "a"), *b = in(c, "b");
    if (is(op, "add")) out[0] = gw_add(a, b);
    else if (is(op, "sub")) out[0] = gw_sub(a, b);
    else if (is(op, "mul")) out[0] = gw_mul(a, b);
    else if (is(op, "div")) out[0] = gw_div(a, b);
    else if (is(op, "maximum")) out[0] = gw_maximum(a, b);
    else if (is(op, "minimum")) out[0] = gw_minimum(a, b);
    else unknown_op(c);
  }
  return 1;
}

static int run_unary(gcase *c, gw_tensor **out) {
  const char *op = c->op;
  gw_tensor *x = in(c, "x");
  if (is(op, "neg")) out[0] = gw_neg(x);
  else if (is(op, "add_scalar")) out[0] = gw_add_scalar(x, attr_float(c, "c"));
  else if (is(op, "mul_scalar")) out[0] = gw_mul_scalar(x, attr_float(c, "c"));
  else if (is(op, "exp")) out[0] = gw_exp(x);
  else if (is(op, "log")) out[0] = gw_log(x);
  else if (is(op, "sqrt")) out[0] = gw_sqrt(x);
  else if (is(op, "pow")) out[0] = gw_pow(x, attr_float(c, "p"));
  else if (is(op, "abs")) out[0] = gw_abs(x);
  else if (is(op, "relu")) out[0] = gw_relu(x);
  else if (is(op, "gelu")) out[0] = gw_gelu(x);
  else if (is(op, "gelu_tanh")) out[0] = gw_gelu_tanh(x);
  else if (is(op, "silu")) out[0] = gw_silu(x);
  else if (is(op, "sigmoid")) out[0] = gw_sigmoid(x);
  else if (is(op, "tanh")) out[0] = gw_tanh(x);
  else if (is(op, "softplus")) out[0] = gw_softplus(x);
  else if (is(op, "clamp")) out[0] = gw_clamp(x, attr_float(c, "lo"), attr_float(c, "hi"));
  else unknown_op(c);
  return 1;
}

static int run_reduce(gcase *c, gw_tensor **out) {
  const char *op = c->op;
  gw_tensor *x = in(c, "x");
  if (is(op, "sum_all")) {
    out[0] = gw_sum_all(x);
  } else if (is(op, "mean_all")) {
    out[0] = gw_mean_all(x);
  } else if (is(op, "sum") || is(op, "mean") || is(op, "var")) {
    int dims[GW_MAX_DIMS], n_dims = 0;  // no `dims` attribute: over all dims
    if (attr_has(c, c->path, "dims")) n_dims = attr_int_list(c, "dims", dims, GW_MAX_DIMS);
    bool keepdim = attr_int(c, "keepdim");
    if (is(op, "sum")) out[0] = gw_sum(x, n_dims, dims, keepdim);
    else if (is(op, "mean")) out[0] = gw_mean(x, n_dims, dims, keepdim);
    else out[0] = gw_var(x, n_dims, dims, (int)attr_int(c, "correction"), keepdim);
  } else if (is(op, "logsumexp")) {
    out[0] = gw_logsumexp(x, (int)attr_int(c, "dim"), attr_int(c, "keepdim"));
  } else if (is(op, "max")) {
    gw_tensor *arg = NULL;
    out[0] = gw_max(x, (int)attr_int(c, "dim"), attr_int(c, "keepdim"), &arg);
    expect_ints(c, "argmax", arg);
  } else if (is(op, "argmax")) {
    out[0] = gw_argmax(x, (int)attr_int(c, "dim"), attr_int(c, "keepdim"));
  } else {
    unknown_op(c);
  }
  return 1;
}

static int run_matmul(gcase *c, gw_tensor **out) {
  if (is(c->op, "matmul")) {
    gw_tensor *a = in(c, "a"), *b = in(c, "b");
    out[0] = gw_matmul(a, b);
  } else if (is(c->op, "linear")) {
    gw_tensor *x = in(c, "x"), *w = in(c, "w"), *bias = in_opt(c, "bias");
    out[0] = gw_linear(x, w, bias);
  } else {
    unknown_op(c);
  }
  return 1;
}

static int run_shape(gcase *c, gw_tensor **out) {
  const char *op = c->op;
  gw_tensor *x = in(c, "x");
  int64_t shape[GW_MAX_DIMS];
  if (is(op, "reshape")) {  // no `shape` attribute: the 0-dim shape ()
    int n = attr_has(c, c->path, "shape") ? attr_ints(c, "shape", shape, GW_MAX_DIMS) : 0;
    out[0] = gw_reshape(x, n, shape);
  } else if (is(op, "expand")) {
    int n = attr_ints(c, "shape", shape, GW_MAX_DIMS);
    out[0] = gw_expand(x, n, shape);
  } else if (is(op, "permute")) {
    int perm[GW_MAX_DIMS];
    cr_assert_eq(attr_int_list(c, "perm", perm, GW_MAX_DIMS), x->ndim);
    out[0] = gw_permute(x, perm);
  } else if (is(op, "transpose")) {
    out[0] = gw_transpose(x, (int)attr_int(c, "dim0"), (int)attr_int(c, "dim1"));
  } else if (is(op, "slice")) {
    out[0] = gw_slice(x, (int)attr_int(c, "dim"), attr_int(c, "start"), attr_int(c, "end"),
                      attr_int(c, "step"));
  } else if (is(op, "unsqueeze")) {
    out[0] = gw_unsqueeze(x, (int)attr_int(c, "dim"));
  } else if (is(op, "squeeze")) {
    out[0] = gw_squeeze(x, (int)attr_int(c, "dim"));
  } else if (is(op, "flatten")) {
    out[0] = gw_flatten(x, (int)attr_int(c, "start"), (int)attr_int(c, "end"));
  } else if (is(op, "contig")) {
    out[0] = gw_contig(x);
  } else {
    unknown_op(c);
  }
  return 1;
}

static int run_join(gcase *c, gw_tensor **out) {
  int dim = (int)attr_int(c, "dim");
  if (is(c->op, "concat") || is(c->op, "stack")) {
    int count = (int)attr_int(c, "count");
    cr_assert(count >= 1 && count <= MAX_LEAVES, "%s: count %d", case_label, count);
    gw_tensor *xs[MAX_LEAVES];
    for (int k = 0; k < count; k++) {
      char name[16];
      snprintf(name, sizeof name, "x%d", k);
      xs[k] = in(c, name);
    }
    out[0] = is(c->op, "concat") ? gw_concat(count, xs, dim) : gw_stack(count, xs, dim);
    return 1;
  }
  if (is(c->op, "split")) {
    gw_tensor *x = in(c, "x");
    int64_t sizes[MAX_OUTS];
    int count = attr_ints(c, "sizes", sizes, MAX_OUTS);
    gw_split(x, dim, count, sizes, out);
    return count;
  }
  unknown_op(c);
  return 0;
}

static int run_index(gcase *c, gw_tensor **out) {
  if (is(c->op, "index_select") || is(c->op, "gather")) {
    gw_tensor *x = in(c, "x"), *idx = in(c, "idx");
    int dim = (int)attr_int(c, "dim");
    out[0] = is(c->op, "gather") ? gw_gather(x, dim, idx) : gw_index_select(x, dim, idx);
  } else if (is(c->op, "embedding")) {
    gw_tensor *table = in(c, "table"), *ids = in(c, "ids");
    out[0] = gw_embedding(table, ids, (int)attr_int(c, "padding_idx"));
  } else {
    unknown_op(c);
  }
  return 1;
}

static int run_softmax(gcase *c, gw_tensor **out) {
  gw_tensor *x = in(c, "x"), *mask = in_opt(c, "mask");
  if (is(c->op, "softmax")) out[0] = gw_softmax(x, mask);
  else if (is(c->op, "log_softmax")) out[0] = gw_log_softmax(x, mask);
  else unknown_op(c);
  return 1;
}

static int run_layernorm(gcase *c, gw_tensor **out) {
  if (!is(c->op, "layernorm")) unknown_op(c);
  gw_tensor *x = in(c, "x"), *gamma = in_opt(c, "gamma"), *beta = in_opt(c, "beta");
  out[0] = gw_layernorm(x, gamma, beta, attr_float(c, "eps"));
  return 1;
}

static int run_batchnorm(gcase *c, gw_tensor **out) {
  if (!is(c->op, "batchnorm")) unknown_op(c);
  gw_tensor *x = in(c, "x"), *gamma = in_opt(c, "gamma"), *beta = in_opt(c, "beta");
  gw_tensor *mean = in_opt(c, "running_mean"), *var = in_opt(c, "running_var");
  out[0] = gw_batchnorm(x, gamma, beta, mean, var, attr_int(c, "training"),
                        attr_float(c, "momentum"), attr_float(c, "eps"));
  if (mean) {  // updated in place (training) or left alone (evaluation)
    char what[400];
    snprintf(what, sizeof what, "%s: running_mean after the step", case_label);
    gwt_assert_close(mean, array(c, "running_mean_after"), FWD_ATOL, FWD_RTOL, what);
    snprintf(what, sizeof what, "%s: running_var after the step", case_label);
    gwt_assert_close(var, array(c, "running_var_after"), FWD_ATOL, FWD_RTOL, what);
  }
  return 1;
}

static int run_conv2d(gcase *c, gw_tensor **out) {
  if (!is(c->op, "conv2d")) unknown_op(c);
  gw_tensor *x = in(c, "x"), *w = in(c, "w"), *bias = in_opt(c, "bias");
  int stride[2], pad[2], dil[2];
  cr_assert_eq(attr_int_list(c, "stride", stride, 2), 2);
  cr_assert_eq(attr_int_list(c, "padding", pad, 2), 2);
  cr_assert_eq(attr_int_list(c, "dilation", dil, 2), 2);
  gw_conv2d_args args = {.stride_h = stride[0], .stride_w = stride[1], .pad_h = pad[0],
                         .pad_w = pad[1], .dilation_h = dil[0], .dilation_w = dil[1],
                         .groups = (int)attr_int(c, "groups")};
  out[0] = gw_conv2d(x, w, bias, args);
  return 1;
}

static int run_laconv(gcase *c, gw_tensor **out) {
  if (!is(c->op, "laconv")) unknown_op(c);
  out[0] = gw_laconv(in(c, "x"), in(c, "kernels"), (int)attr_int(c, "k"));
  return 1;
}

static int run_pool(gcase *c, gw_tensor **out) {
  gw_tensor *x = in(c, "x");
  if (is(c->op, "adaptive_avgpool2d")) {
    int size[2];
    cr_assert_eq(attr_int_list(c, "size", size, 2), 2);
    out[0] = gw_adaptive_avgpool2d(x, size[0], size[1]);
    return 1;
  }
  int k = (int)attr_int(c, "k"), s = (int)attr_int(c, "s"), p = (int)attr_int(c, "p");
  if (is(c->op, "maxpool2d")) out[0] = gw_maxpool2d(x, k, s, p);
  else if (is(c->op, "avgpool2d")) out[0] = gw_avgpool2d(x, k, s, p);
  else unknown_op(c);
  return 1;
}

static int run_resize(gcase *c, gw_tensor **out) {
  const char *op = c->op;
  gw_tensor *x = in(c, "x");
  if (is(op, "upsample_nearest") || is(op, "upsample_bilinear")) {
    int size[2];
    cr_assert_eq(attr_int_list(c, "size", size, 2), 2);
    out[0] = is(op, "upsample_nearest") ? gw_upsample_nearest(x, size[0], size[1])
                                        : gw_upsample_bilinear(x, size[0], size[1]);
  } else if (is(op, "pixel_shuffle")) {
    out[0] = gw_pixel_shuffle(x, (int)attr_int(c, "r"));
  } else if (is(op, "pixel_unshuffle")) {
    out[0] = gw_pixel_unshuffle(x, (int)attr_int(c, "r"));
  } else if (is(op, "pad")) {
    int64_t pads[2 * GW_MAX_DIMS];
    int n = attr_ints(c, "pads", pads, 2 * GW_MAX_DIMS);
    cr_assert(n % 2 == 0, "%s: pads must come in pairs", case_label);
    out[0] = gw_pad(x, n / 2, pads, attr_float(c, "value"));
  } else {
    unknown_op(c);
  }
  return 1;
}

static int run_dropout(gcase *c, gw_tensor **out) {
  if (!is(c->op, "dropout")) unknown_op(c);
  gw_tensor *x = in(c, "x");
  gw_rng rng = gw_rng_stream(1, "dropout");
  out[0] = gw_dropout(x, attr_float(c, "p"), &rng);
  return 1;
}

static int run_losses(gcase *c, gw_tensor **out) {
  const char *op = c->op;
  gw_tensor *x = in(c, "input"), *t = in(c, "target");
  gw_reduction red = attr_reduction(c);
  if (is(op, "cross_entropy"))
    out[0] = gw_cross_entropy(x, t, (int)attr_int(c, "ignore_index"),
                              attr_float(c, "label_smoothing"), red);
  else if (is(op, "cross_entropy_soft")) out[0] = gw_cross_entropy_soft(x, t, red);
  else if (is(op, "bce_with_logits")) out[0] = gw_bce_with_logits(x, t, in_opt(c, "weight"), red);
  else if (is(op, "l1")) out[0] = gw_l1_loss(x, t, red);
  else if (is(op, "smooth_l1")) out[0] = gw_smooth_l1_loss(x, t, attr_float(c, "beta"), red);
  else if (is(op, "mse")) out[0] = gw_mse_loss(x, t, red);
  else if (is(op, "kl_div")) out[0] = gw_kl_div(x, t, attr_int(c, "log_target"), red);
  else unknown_op(c);
  return 1;
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

static const struct {
  const char *name;
  run_fn run;
} families[] = {
    {"arith", run_arith},         {"unary", run_unary},     {"reduce", run_reduce},
    {"matmul", run_matmul},       {"shape", run_shape},     {"join", run_join},
    {"index", run_index},         {"softmax", run_softmax}, {"layernorm", run_layernorm},
    {"batchnorm", run_batchnorm}, {"conv2d", run_conv2d},   {"laconv", run_laconv},
    {"pool", run_pool},
    {"resize", run_resize},       {"dropout", run_dropout}, {"losses", run_losses},
};

// Every family in the file has a Test here (a family added to the script alone fails).
Test(golden, every_family_is_tested) {
  golden_file g = golden_open();
  char *list = gw_h5_get_attr_str(g.h5, "", "families");
  cr_assert(list, "golden fixtures: %s", gw_last_error());
  char *save = NULL;
  int n = 0;
  for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save), n++) {
    bool known = false;
    for (size_t i = 0; i < sizeof families / sizeof *families; i++)
      known |= is(f, families[i].name);
    cr_assert(known, "golden fixtures: the family '%s' has no test in test_golden.c", f);
  }
  cr_assert_eq((size_t)n, sizeof families / sizeof *families,
               "golden fixtures: %d families in the file, %zu in the test", n,
               sizeof families / sizeof *families);
  free(list);
  golden_close(&g);
}

Test(golden, arith) { run_family("arith", run_arith); }
Test(golden, unary) { run_family("unary", run_unary); }
Test(golden, reduce) { run_family("reduce", run_reduce); }
Test(golden, matmul) { run_family("matmul", run_matmul); }
Test(golden, shape) { run_family("shape", run_shape); }
Test(golden, join) { run_family("join", run_join); }
Test(golden, index) { run_family("index", run_index); }
Test(golden, softmax) { run_family("softmax", run_softmax); }
Test(golden, layernorm) { run_family("layernorm", run_layernorm); }
Test(golden, batchnorm) { run_family("batchnorm", run_batchnorm); }
Test(golden, conv2d) { run_family("conv2d", run_conv2d); }
Test(golden, laconv) { run_family("laconv", run_laconv); }
Test(golden, pool) { run_family("pool", run_pool); }
Test(golden, resize) { run_family("resize", run_resize); }
Test(golden, dropout) { run_family("dropout", run_dropout); }
Test(golden, losses) { run_family("losses", run_losses); }
