// Golden tests of the nn layer (tier 2 of STYLE.md): modules, optimal transport, losses,
// optimizers, schedules and gradient clipping against PyTorch.
//
// tests/golden/make_nn_fixtures.py builds each module in PyTorch (in float64, from float32
// parameters and inputs) and writes tests/golden/fixtures/nn.h5: per case the module's
// parameters and buffers under groundwork's dotted names, the inputs, the outputs, a random
// upstream gradient per output (the seed), the gradient of every input and every parameter,
// and the buffers after the forward. Here each module is built with our API, its weights are
// loaded by name with gw_nn_load (strict: a name or shape we do not have is a failure), and
// it runs forward and backward from the same seeds. Forward within atol 1e-5 + rtol 1e-4,
// gradients within atol 1e-4 + rtol 1e-3 (as the op goldens), the worst element named.
//
// Optimizers run 10 steps on a small model with the gradients of each step taken from the
// fixture; the parameters after every step must match PyTorch's (float64) to 1e-6 relative.
// Schedules and clipping are held to the same 1e-6 relative.
//
// One Test per family; each runs every case of its family, checks that it ran as many as
// the family's `count` says, and that every array of every case was used.
//
// The file is $GW_GOLDEN_DIR/nn.h5, by default tests/golden/fixtures/nn.h5 relative to the
// working directory (make test runs from the repository root). Regenerate it with
// `make fixtures`.
#include <hdf5.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "testutil.h"

#define FWD_ATOL 1e-5
#define FWD_RTOL 1e-4
#define GRAD_ATOL 1e-4
#define GRAD_RTOL 1e-3
#define OPTIM_RTOL 1e-6  // optimizer trajectories, schedules, clipping: relative only

TestSuite(golden_nn, .init = gwt_setup, .fini = gwt_teardown);

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
  snprintf(g.path, sizeof g.path, "%s/nn.h5", dir);
  g.h5 = gw_h5_open(g.path);
  if (!g.h5)
    cr_assert_fail("golden nn fixtures: %s. HINT: run the tests from the repository root, or "
                   "set GW_GOLDEN_DIR; regenerate the file with `make fixtures` (Debian's "
                   "/usr/bin/python3 with python3-torch and python3-h5py)",
                   gw_last_error());
  g.file = H5Fopen(g.path, H5F_ACC_RDONLY, H5P_DEFAULT);
  cr_assert(g.file >= 0, "golden nn fixtures: HDF5 cannot open %s", g.path);
  return g;
}

static void golden_close(golden_file *g) {
  H5Fclose(g->file);
  gw_h5_close(g->h5);
}

// ---------------------------------------------------------------------------------------
// One case: its group, what has been read from it, its leaves and its module registry
// ---------------------------------------------------------------------------------------

enum { MAX_LEAVES = 8, MAX_READ = 256, MAX_OUTS = 4, NAME_LEN = 128 };

typedef struct gcase {
  golden_file *g;
  char path[64];   // "layers/003"
  char op[32];     // attribute `op`
  int n_leaves;
  char leaf_name[MAX_LEAVES][NAME_LEN];
  gw_tensor *leaf[MAX_LEAVES];
  int n_read;      // names of the arrays read so far: every array must be used
  char read[MAX_READ][NAME_LEN];
  gw_nn nn;        // the case's modules register here
} gcase;

// "layers/003 (Linear 5->3 ...)": names the case in every message. Static, so that it
// survives the longjmp out of a call that stops with an error.
static char case_label[320];

static bool is(const char *a, const char *b) { return strcmp(a, b) == 0; }

static void full_name(const gcase *c, const char *name, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s", c->path, name);
}

static bool has(gcase *c, const char *name) {
  char full[256];
  full_name(c, name, full, sizeof full);
  return gw_h5_exists(c->g->h5, full);
}

static void mark_read(gcase *c, const char *name) {
  cr_assert(c->n_read < MAX_READ, "%s: too many arrays", case_label);
  snprintf(c->read[c->n_read++], NAME_LEN, "%s", name);
}

// The array `name` of the case, as a new tensor (float32 or int32, as stored).
static gw_tensor *array(gcase *c, const char *name) {
  char full[256];
  full_name(c, name, full, sizeof full);
  gw_tensor *t = gw_h5_read_tensor(c->g->h5, full);
  cr_assert(t, "%s: %s", case_label, gw_last_error());
  mark_read(c, name);
  return t;
}

// A float64 array (references stored in double), malloc'ed; *n gets its element count.
static double *array_f64(gcase *c, const char *name, int64_t *n) {
  char full[256];
  full_name(c, name, full, sizeof full);
  int nd;
  int64_t shape[GW_MAX_DIMS];
  cr_assert(gw_h5_array_shape(c->g->h5, full, &nd, shape) == 0, "%s: %s", case_label,
            gw_last_error());
  int64_t count = 1;
  for (int d = 0; d < nd; d++) count *= shape[d];
  double *v = malloc((size_t)(count ? count : 1) * sizeof *v);
  cr_assert(gw_h5_read_array(c->g->h5, full, GW_H5_F64, nd, shape, v) == 0, "%s: %s", case_label,
            gw_last_error());
  mark_read(c, name);
  *n = count;
  return v;
}

// ---- attributes ----

static bool attr_has(gcase *c, const char *object, const char *name) {
  return H5Aexists_by_name(c->g->file, object, name, H5P_DEFAULT) > 0;
}

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

static double attr_double(gcase *c, const char *name) {
  double v;
  attr_read(c, name, H5T_NATIVE_DOUBLE, &v, 1);
  return v;
}

static float attr_float(gcase *c, const char *name) { return (float)attr_double(c, name); }

// An optional float attribute: `fallback` when the case has none.
static float attr_float_or(gcase *c, const char *name, float fallback) {
  return attr_has(c, c->path, name) ? attr_float(c, name) : fallback;
}

static int64_t attr_int_or(gcase *c, const char *name, int64_t fallback) {
  return attr_has(c, c->path, name) ? attr_int(c, name) : fallback;
}

static int attr_ints(gcase *c, const char *name, int64_t *out, int max) {
  return attr_read(c, name, H5T_NATIVE_INT64, out, max);
}

static void attr_str(gcase *c, const char *object, const char *name, char *buf, size_t size) {
  char *s = gw_h5_get_attr_str(c->g->h5, object, name);
  cr_assert(s, "%s: %s", case_label, gw_last_error());
  snprintf(buf, size, "%s", s);
  free(s);
}

// The module's name (attribute `name`), the prefix of every tensor it registers.
static const char *module_name(gcase *c) {
  static char name[64];
  attr_str(c, c->path, "name", name, sizeof name);
  return name;
}

static gw_activation attr_act(gcase *c) {
  char act[32];
  attr_str(c, c->path, "act", act, sizeof act);
  return gw_activation_from_name(act);
}

// ---- inputs ----

// Input `name`: a leaf that requires a gradient when the fixture has grad_<name>.
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
  return t;
}

static gw_tensor *in_opt(gcase *c, const char *name) { return has(c, name) ? in(c, name) : NULL; }

// Loads params/<name> into every tensor the case's modules registered, by name, strictly.
static void load_params(gcase *c) {
  if (c->nn.count == 0) {  // a module without tensors (LayerNorm without affine)
    cr_assert(!has(c, "params"), "%s: the fixture has parameters, the module none", case_label);
    return;
  }
  char group[128];
  snprintf(group, sizeof group, "%s/params", c->path);
  int n = gw_nn_load(&c->nn, c->g->h5, group, (gw_load_opts){.strict = true});
  cr_assert(n >= 0, "%s: gw_nn_load: %s", case_label, gw_last_error());
  cr_assert_eq(n, c->nn.count, "%s: gw_nn_load loaded %d of %d tensors", case_label, n,
               c->nn.count);
  char name[NAME_LEN];
  for (int i = 0; i < c->nn.count; i++) {
    snprintf(name, sizeof name, "params/%s", c->nn.items[i].name);
    mark_read(c, name);
  }
}

// ---------------------------------------------------------------------------------------
// Comparing a case
// ---------------------------------------------------------------------------------------

static void count_unread(const char *name, void *ctx) {
  gcase *c = ctx;
  for (int i = 0; i < c->n_read; i++)
    if (is(c->read[i], name)) return;
  cr_assert_fail("%s: the fixture array '%s' was not used by the test (an input, output or "
                 "parameter the C side does not know?)",
                 case_label, name);
}

// Every trainable parameter's gradient against grads/<name>, every buffer against
// after/<name> when the fixture has it.
static void check_params(gcase *c) {
  char name[NAME_LEN], what[400];
  for (int i = 0; i < c->nn.count; i++) {
    gw_named *p = &c->nn.items[i];
    if (p->buffer) {
      snprintf(name, sizeof name, "after/%s", p->name);
      if (!has(c, name)) continue;
      snprintf(what, sizeof what, "%s: buffer %s after the forward", case_label, p->name);
      gwt_assert_close(p->tensor, array(c, name), FWD_ATOL, FWD_RTOL, what);
      continue;
    }
    snprintf(name, sizeof name, "grads/%s", p->name);
    cr_assert(has(c, name), "%s: the fixture has no gradient for the parameter %s", case_label,
              p->name);
    gw_tensor *got = p->tensor->grad ? p->tensor->grad : gw_zeros_like(p->tensor);
    snprintf(what, sizeof what, "%s: gradient of the parameter %s", case_label, p->name);
    gwt_assert_close(got, array(c, name), GRAD_ATOL, GRAD_RTOL, what);
  }
}

// Forward outputs against out / out0.., backward from seed / seed0.., then the gradients of
// every input and every parameter, and the buffers.
static void check_case(gcase *c, int n_out, gw_tensor **outs) {
  char what[400], name[NAME_LEN];
  for (int k = 0; k < n_out; k++) {
    snprintf(name, sizeof name, n_out == 1 ? "out" : "out%d", k);
    snprintf(what, sizeof what, "%s: forward %s", case_label, name);
    gwt_assert_close(outs[k], array(c, name), FWD_ATOL, FWD_RTOL, what);
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
    gw_tensor *got = leaf->grad ? leaf->grad : gw_zeros_like(leaf);
    snprintf(what, sizeof what, "%s: gradient of %s", case_label, c->leaf_name[i]);
    gwt_assert_close(got, array(c, name), GRAD_ATOL, GRAD_RTOL, what);
  }
  check_params(c);
}

// |got - want| <= rtol * |want| for every element, the worst one named.
static void assert_rel(const float *got, const double *want, int64_t n, double rtol,
                       const char *what) {
  int64_t worst = -1, bad = 0;
  double worst_rel = 0.0;
  for (int64_t i = 0; i < n; i++) {
    double diff = fabs((double)got[i] - want[i]);
    double rel = want[i] != 0.0 ? diff / fabs(want[i]) : (diff == 0.0 ? 0.0 : INFINITY);
    if (!(diff <= rtol * fabs(want[i]))) {
      bad++;
      if (worst < 0 || rel > worst_rel) {
        worst = i;
        worst_rel = rel;
      }
    }
  }
  if (bad)
    cr_assert_fail("%s: %lld of %lld elements differ by more than %.0e relative; worst at flat "
                   "index %lld: got %.9g, expected %.17g (relative error %.3g)",
                   what, (long long)bad, (long long)n, rtol, (long long)worst, got[worst],
                   want[worst], worst_rel);
}

// ---------------------------------------------------------------------------------------
// Running a family
// ---------------------------------------------------------------------------------------

// Runs the case and fills outs; returns the number of outputs (checked by check_case), or 0
// when the runner checked everything itself.
typedef int (*run_fn)(gcase *c, gw_tensor **outs);

static void unknown_op(gcase *c) {
  cr_assert_fail("%s: the test does not know the op '%s'", case_label, c->op);
}

static void run_family(const char *family, run_fn run) {
  golden_file g = golden_open();
  int64_t count = 0;
  cr_assert(gw_h5_get_attr_i64(g.h5, family, "count", &count) == 0,
            "golden nn fixtures: no family '%s' in %s (%s). HINT: regenerate with `make fixtures`",
            family, g.path, gw_last_error());
  H5G_info_t info;
  cr_assert(H5Gget_info_by_name(g.file, family, &info, H5P_DEFAULT) >= 0, "%s: no group", family);
  cr_assert_eq((int64_t)info.nlinks, count, "%s: %lld cases in the file but count says %lld",
               family, (long long)info.nlinks, (long long)count);
  int64_t ran = 0;
  for (int64_t i = 0; i < count; i++) {
    static gcase c;  // large (the list of arrays read); one at a time
    memset(&c, 0, sizeof c);
    c.g = &g;
    snprintf(c.path, sizeof c.path, "%s/%03lld", family, (long long)i);
    cr_assert(gw_h5_exists(g.h5, c.path), "%s: case %s is missing", g.path, c.path);
    snprintf(case_label, sizeof case_label, "%s", c.path);
    attr_str(&c, c.path, "op", c.op, sizeof c.op);
    char desc[240];
    attr_str(&c, c.path, "desc", desc, sizeof desc);
    snprintf(case_label, sizeof case_label, "%s (%s)", c.path, desc);
    gw_nn_init(&c.nn, 1);
    jmp_buf jb;
    gwt_error_jump = &jb;
    if (setjmp(jb) != 0) {
      gwt_error_jump = NULL;
      cr_assert_fail("%s: stopped with: %s", case_label, gw_last_error());
    }
    gw_tensor *outs[MAX_OUTS];
    int n_out = run(&c, outs);
    if (n_out > 0) check_case(&c, n_out, outs);
    gw_h5_list(g.h5, c.path, count_unread, &c);
    gwt_error_jump = NULL;
    gw_nn_free(&c.nn);
    gw_step_end();
    ran++;
  }
  cr_assert_eq(ran, count, "%s: ran %lld of %lld cases", family, (long long)ran, (long long)count);
  golden_close(&g);
}

// ---------------------------------------------------------------------------------------
// The families
// ---------------------------------------------------------------------------------------

static int run_layers(gcase *c, gw_tensor **out) {
  gw_nn *nn = &c->nn;
  const char *op = c->op;
  if (is(op, "linear")) {
    gw_linear_m m;
    gw_linear_init(&m, nn, module_name(c), attr_int(c, "in_dim"), attr_int(c, "out_dim"),
                   attr_int(c, "bias"));
    load_params(c);
    out[0] = gw_linear_forward(&m, in(c, "x"));
  } else if (is(op, "conv")) {
    gw_conv_m m;
    gw_conv_init(&m, nn, module_name(c), attr_int(c, "cin"), attr_int(c, "cout"),
                 (int)attr_int(c, "k"), (int)attr_int(c, "stride"), (int)attr_int(c, "pad"),
                 (int)attr_int(c, "groups"), attr_int(c, "bias"));
    load_params(c);
    out[0] = gw_conv_forward(&m, in(c, "x"));
  } else if (is(op, "mlp")) {
    int64_t dims[GW_MLP_MAX_LAYERS + 1];
    int n = attr_ints(c, "dims", dims, GW_MLP_MAX_LAYERS + 1);
    static gw_mlp m;
    gw_mlp_init(&m, nn, module_name(c), n - 1, dims, attr_act(c), 0.0f);
    load_params(c);
    out[0] = gw_mlp_forward(&m, in(c, "x"));
  } else if (is(op, "gated_residual")) {
    gw_gated_residual m;
    gw_gated_residual_init(&m, nn, module_name(c));
    load_params(c);
    gw_tensor *x = in(c, "x"), *b = in(c, "branch");
    out[0] = gw_gated_residual_forward(&m, x, b);
  } else {
    unknown_op(c);
  }
  return 1;
}

static int run_norm(gcase *c, gw_tensor **out) {
  gw_nn *nn = &c->nn;
  const char *op = c->op;
  if (is(op, "batchnorm")) {
    gw_batchnorm_m m;
    gw_batchnorm_init(&m, nn, module_name(c), attr_int(c, "channels"), attr_int(c, "affine"));
    load_params(c);
    gw_nn_train(nn, attr_int(c, "training"));
    out[0] = gw_batchnorm_forward(&m, in(c, "x"));
  } else if (is(op, "layernorm")) {
    gw_layernorm_m m;
    gw_layernorm_init(&m, nn, module_name(c), attr_int(c, "dim"), attr_int(c, "affine"));
    load_params(c);
    out[0] = gw_layernorm_forward(&m, in(c, "x"));
  } else if (is(op, "embedding")) {
    gw_embedding_m m;
    gw_embedding_init(&m, nn, module_name(c), attr_int(c, "num"), attr_int(c, "dim"),
                      (int)attr_int(c, "padding_idx"));
    load_params(c);
    out[0] = gw_embedding_forward(&m, in(c, "ids"));
  } else {
    unknown_op(c);
  }
  return 1;
}

static int run_rnn(gcase *c, gw_tensor **out) {
  if (!is(c->op, "gru")) unknown_op(c);
  gw_gru m;
  gw_gru_init(&m, &c->nn, module_name(c), attr_int(c, "in_dim"), attr_int(c, "hidden"),
              attr_int(c, "bidirectional"));
  load_params(c);
  gw_tensor *x = in(c, "x"), *lengths = in_opt(c, "lengths");
  out[0] = gw_gru_forward(&m, x, lengths, &out[1]);
  return 2;
}

static int run_attention(gcase *c, gw_tensor **out) {
  gw_nn *nn = &c->nn;
  const char *op = c->op;
  int64_t dim = attr_int(c, "dim"), heads = attr_int(c, "heads");
  if (is(op, "mha")) {
    static gw_mha m;
    gw_mha_init(&m, nn, module_name(c), dim, heads, 0.0f);
    load_params(c);
    char kind[16];
    attr_str(c, c->path, "kind", kind, sizeof kind);
    gw_tensor *q = in(c, "q"), *k, *v;
    if (is(kind, "self")) {
      k = v = q;
    } else if (is(kind, "cross")) {
      k = v = in(c, "memory");
    } else {
      k = in(c, "k");
      v = in(c, "v");
    }
    gw_tensor *keep = in_opt(c, "key_keep");
    out[0] = gw_mha_forward(&m, q, k, v, keep, &out[1]);
    return 2;
  }
  if (is(op, "encoder_layer")) {
    static gw_encoder_layer m;
    gw_encoder_layer_init(&m, nn, module_name(c), dim, heads, attr_int(c, "ff_dim"), 0.0f,
                          GW_ACT_GELU, attr_int(c, "pre_norm"));
    load_params(c);
    gw_tensor *x = in(c, "x"), *keep = in_opt(c, "key_keep");
    out[0] = gw_encoder_layer_forward(&m, x, keep);
    return 1;
  }
  if (is(op, "cross_layer")) {
    static gw_cross_layer m;
    gw_cross_layer_init(&m, nn, module_name(c), dim, heads, attr_int(c, "ff_dim"), 0.0f,
                        attr_act(c), attr_int(c, "pre_norm"));
    load_params(c);
    gw_tensor *x = in(c, "x"), *mem = in(c, "memory"), *keep = in_opt(c, "mem_keep");
    out[0] = gw_cross_layer_forward(&m, x, mem, keep, &out[1]);
    return 2;
  }
  unknown_op(c);
  return 0;
}

static int run_vision(gcase *c, gw_tensor **out) {
  gw_nn *nn = &c->nn;
  const char *op = c->op;
  if (is(op, "sine_posenc")) {
    out[0] = gw_sine_posenc_2d(attr_int(c, "dim"), attr_int(c, "H"), attr_int(c, "W"));
  } else if (is(op, "patch_embed")) {
    gw_patch_embed m;
    gw_patch_embed_init(&m, nn, module_name(c), attr_int(c, "in_ch"), attr_int(c, "dim"),
                        attr_int(c, "patch"));
    load_params(c);
    out[0] = gw_patch_embed_forward(&m, in(c, "x"));
  } else if (is(op, "backbone")) {
    gw_backbone_cfg cfg = {.in_ch = attr_int(c, "in_ch"), .stem_ch = attr_int(c, "stem_ch"),
                           .stem_stride = (int)attr_int(c, "stem_stride")};
    int64_t v[GW_BACKBONE_MAX_STAGES];
    cfg.n_stages = attr_ints(c, "channels", cfg.channels, GW_BACKBONE_MAX_STAGES);
    cr_assert_eq(attr_ints(c, "blocks", v, GW_BACKBONE_MAX_STAGES), cfg.n_stages);
    for (int s = 0; s < cfg.n_stages; s++) cfg.blocks[s] = (int)v[s];
    cr_assert_eq(attr_ints(c, "strides", v, GW_BACKBONE_MAX_STAGES), cfg.n_stages);
    for (int s = 0; s < cfg.n_stages; s++) cfg.strides[s] = (int)v[s];
    static gw_backbone m;
    gw_backbone_init(&m, nn, module_name(c), &cfg);
    load_params(c);
    gw_nn_train(nn, attr_int(c, "training"));
    out[0] = gw_backbone_forward(&m, in(c, "x"));
  } else {
    unknown_op(c);
  }
  return 1;
}

static int run_ot(gcase *c, gw_tensor **out) {
  const char *op = c->op;
  if (is(op, "cosine_cost")) {
    gw_tensor *x = in(c, "x"), *y = in(c, "y");
    out[0] = gw_ot_cosine_cost(x, y, attr_float(c, "ratio"));
  } else if (is(op, "ipot")) {
    out[0] = gw_ot_ipot(in(c, "C"), attr_float(c, "beta"), (int)attr_int(c, "iters"));
  } else if (is(op, "sinkhorn_log")) {
    out[0] = gw_ot_sinkhorn_log(in(c, "C"), attr_float(c, "eps"), (int)attr_int(c, "iters"));
  } else if (is(op, "wasserstein")) {
    out[0] = gw_ot_wasserstein(in(c, "C"), attr_float(c, "beta"), (int)attr_int(c, "iters"));
  } else if (is(op, "wasserstein_cos")) {
    gw_tensor *x = in(c, "x"), *y = in(c, "y");
    gw_tensor *C = gw_ot_cosine_cost(x, y, attr_float(c, "ratio"));
    out[0] = gw_ot_wasserstein(C, attr_float(c, "beta"), (int)attr_int(c, "iters"));
  } else if (is(op, "gromov_wasserstein")) {
    gw_tensor *x = in(c, "x"), *y = in(c, "y");
    out[0] = gw_ot_gromov_wasserstein(x, y, attr_float(c, "ratio"), attr_float(c, "beta"),
                                      (int)attr_int(c, "outer"), (int)attr_int(c, "inner"));
  } else {
    unknown_op(c);
  }
  return 1;
}

static int run_losses(gcase *c, gw_tensor **out) {
  const char *op = c->op;
  if (is(op, "iou") || is(op, "giou") || is(op, "iou_loss") || is(op, "giou_loss")) {
    gw_tensor *p = in(c, "pred"), *t = in(c, "target");
    if (is(op, "iou")) out[0] = gw_box_iou(p, t);
    else if (is(op, "giou")) out[0] = gw_box_giou(p, t);
    else if (is(op, "iou_loss")) out[0] = gw_iou_loss(p, t);
    else out[0] = gw_giou_loss(p, t);
  } else if (is(op, "infonce")) {
    gw_tensor *img = in(c, "img"), *txt = in(c, "txt"), *scale = in(c, "logit_scale");
    out[0] = gw_infonce(img, txt, scale, &out[1]);
    return 2;
  } else if (is(op, "barlow_twins")) {
    gw_tensor *z1 = in(c, "z1"), *z2 = in(c, "z2");
    out[0] = gw_barlow_twins(z1, z2, attr_float(c, "lambd"));
  } else if (is(op, "heteroscedastic")) {
    gw_tensor *mean = in(c, "mean"), *log_var = in(c, "log_var"), *target = in(c, "target");
    out[0] = gw_heteroscedastic_loss(mean, log_var, target);
  } else if (is(op, "distill_kl") || is(op, "distill_soft_ce")) {
    gw_tensor *s = in(c, "student"), *t = in(c, "teacher");
    float tau = attr_float(c, "tau");
    out[0] = is(op, "distill_kl") ? gw_distill_kl(s, t, tau) : gw_distill_soft_ce(s, t, tau);
  } else {
    unknown_op(c);
  }
  return 1;
}

// ---- optimizers, clipping, schedules ----

// The model of the optimizer cases: fc1 Linear(5, 4), norm LayerNorm(4), fc2 Linear(4, 3).
static void small_model(gcase *c) {
  static gw_linear_m fc1, fc2;
  static gw_layernorm_m norm;
  gw_linear_init(&fc1, &c->nn, "fc1", 5, 4, true);
  gw_layernorm_init(&norm, &c->nn, "norm", 4, true);
  gw_linear_init(&fc2, &c->nn, "fc2", 4, 3, true);
  load_params(c);
}

// Row `row` of the float32 array `name` (first dimension) into dst.
static void read_row_f32(gcase *c, const char *name, int64_t row, float *dst) {
  char full[256];
  full_name(c, name, full, sizeof full);
  cr_assert(gw_h5_read_rows(c->g->h5, full, GW_H5_F32, row, 1, dst) == 0, "%s: %s", case_label,
            gw_last_error());
}

static int run_optim(gcase *c, gw_tensor **out) {
  gw_optim_cfg cfg = {0};
  if (is(c->op, "sgd")) cfg.kind = GW_SGD;
  else if (is(c->op, "adam")) cfg.kind = GW_ADAM;
  else if (is(c->op, "adamw")) cfg.kind = GW_ADAMW;
  else if (is(c->op, "lars")) cfg.kind = GW_LARS;
  else unknown_op(c);
  cfg.lr = attr_float(c, "lr");
  cfg.weight_decay = attr_float(c, "weight_decay");
  // settings the case leaves out keep groundwork's defaults (PyTorch's)
  cfg.momentum = attr_float_or(c, "momentum", 0.0f);
  cfg.dampening = attr_float_or(c, "dampening", 0.0f);
  cfg.nesterov = attr_int_or(c, "nesterov", 0);
  cfg.beta1 = attr_float_or(c, "beta1", 0.0f);
  cfg.beta2 = attr_float_or(c, "beta2", 0.0f);
  cfg.eps = attr_float_or(c, "eps", 0.0f);
  small_model(c);
  gw_optim o;
  gw_optim_init(&o, &c->nn, cfg);
  gw_tensor *factor = array(c, "lr_factor");
  int64_t steps = gw_numel(factor);
  // each parameter's stored gradients and trajectory, read whole
  int np = c->nn.count;
  double *traj[16];
  cr_assert(np <= 16, "%s: too many parameters", case_label);
  char name[NAME_LEN], what[400];
  for (int i = 0; i < np; i++) {
    int64_t n;
    snprintf(name, sizeof name, "traj/%s", c->nn.items[i].name);
    traj[i] = array_f64(c, name, &n);
    cr_assert_eq(n, steps * gw_numel(c->nn.items[i].tensor), "%s: %s has %lld values",
                 case_label, name, (long long)n);
    snprintf(name, sizeof name, "grad_steps/%s", c->nn.items[i].name);
    mark_read(c, name);
  }
  for (int64_t s = 0; s < steps; s++) {
    for (int i = 0; i < np; i++) {
      gw_named *p = &c->nn.items[i];
      snprintf(name, sizeof name, "grad_steps/%s", p->name);
      read_row_f32(c, name, s, gw_f32(gw_grad_of(p->tensor)));
    }
    gw_optim_step(&o, gw_f32(factor)[s]);
    for (int i = 0; i < np; i++) {
      gw_named *p = &c->nn.items[i];
      int64_t n = gw_numel(p->tensor);
      snprintf(what, sizeof what, "%s: %s after step %lld", case_label, p->name, (long long)s + 1);
      assert_rel(gw_f32(p->tensor), traj[i] + s * n, n, OPTIM_RTOL, what);
    }
  }
  for (int i = 0; i < np; i++) free(traj[i]);
  gw_optim_free(&o);
  return 0;
}

static int run_clip(gcase *c, gw_tensor **out) {
  if (!is(c->op, "clip_grad_norm")) unknown_op(c);
  small_model(c);
  char name[NAME_LEN], what[400];
  for (int i = 0; i < c->nn.count; i++) {
    gw_named *p = &c->nn.items[i];
    snprintf(name, sizeof name, "grad_in/%s", p->name);
    gw_copy_into(gw_grad_of(p->tensor), array(c, name));
  }
  float norm = gw_clip_grad_norm(&c->nn, attr_float(c, "max_norm"));
  int64_t n;
  double *want = array_f64(c, "norm", &n);
  snprintf(what, sizeof what, "%s: the norm before clipping", case_label);
  assert_rel(&norm, want, 1, OPTIM_RTOL, what);
  free(want);
  for (int i = 0; i < c->nn.count; i++) {
    gw_named *p = &c->nn.items[i];
    snprintf(name, sizeof name, "grad_out/%s", p->name);
    want = array_f64(c, name, &n);
    cr_assert_eq(n, gw_numel(p->tensor));
    snprintf(what, sizeof what, "%s: gradient of %s after clipping", case_label, p->name);
    assert_rel(gw_f32(p->tensor->grad), want, n, OPTIM_RTOL, what);
    free(want);
  }
  return 0;
}

static int run_schedule(gcase *c, gw_tensor **out) {
  gw_schedule s = {.kind = gw_schedule_kind_from_name(c->op),
                   .total_steps = attr_int_or(c, "total_steps", 0),
                   .warmup_steps = attr_int_or(c, "warmup_steps", 0),
                   .min_factor = attr_float_or(c, "min_factor", 0.0f),
                   .step_size = attr_int_or(c, "step_size", 0),
                   .gamma = attr_float_or(c, "gamma", 0.0f)};
  int64_t n;
  double *want = array_f64(c, "factor", &n);
  cr_assert_eq(n, attr_int(c, "steps"));
  char what[400];
  for (int64_t i = 0; i < n; i++) {
    float got = gw_schedule_factor(&s, i);
    snprintf(what, sizeof what, "%s: the factor at step %lld", case_label, (long long)i);
    assert_rel(&got, want + i, 1, OPTIM_RTOL, what);
  }
  free(want);
  return 0;
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

static const struct {
  const char *name;
  run_fn run;
} families[] = {
    {"layers", run_layers}, {"norm", run_norm},     {"rnn", run_rnn},
    {"attention", run_attention}, {"vision", run_vision}, {"ot", run_ot},
    {"losses", run_losses}, {"optim", run_optim},   {"clip", run_clip},
    {"schedule", run_schedule},
};

// Every family in the file has a Test here (a family added to the script alone fails).
Test(golden_nn, every_family_is_tested) {
  golden_file g = golden_open();
  char *list = gw_h5_get_attr_str(g.h5, "", "families");
  cr_assert(list, "golden nn fixtures: %s", gw_last_error());
  char *save = NULL;
  int n = 0;
  for (char *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save), n++) {
    bool known = false;
    for (size_t i = 0; i < sizeof families / sizeof *families; i++)
      known |= is(f, families[i].name);
    cr_assert(known, "golden nn fixtures: the family '%s' has no test in test_golden_nn.c", f);
  }
  cr_assert_eq((size_t)n, sizeof families / sizeof *families,
               "golden nn fixtures: %d families in the file, %zu in the test", n,
               sizeof families / sizeof *families);
  free(list);
  golden_close(&g);
}

Test(golden_nn, layers) { run_family("layers", run_layers); }
Test(golden_nn, norm) { run_family("norm", run_norm); }
Test(golden_nn, rnn) { run_family("rnn", run_rnn); }
Test(golden_nn, attention) { run_family("attention", run_attention); }
Test(golden_nn, vision) { run_family("vision", run_vision); }
Test(golden_nn, ot) { run_family("ot", run_ot); }
Test(golden_nn, losses) { run_family("losses", run_losses); }
Test(golden_nn, optim) { run_family("optim", run_optim); }
Test(golden_nn, clip) { run_family("clip", run_clip); }
Test(golden_nn, schedule) { run_family("schedule", run_schedule); }
