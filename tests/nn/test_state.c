// Saving and loading: parameters, buffers and optimizer state round-trip bit for bit; a strict
// load reports every missing, unexpected and mis-shaped name in one message and loads nothing;
// partial loads move a saved sub-module under another prefix; non-strict loads skip what is
// missing; a missing file is named in the error.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nn/nn.h"
#include "testutil.h"

TestSuite(nn_state, .init = gwt_setup, .fini = gwt_teardown, .timeout = 60);

// A unique file name in /tmp for this process and tag.
static const char *tmp_path(const char *tag) {
  static char buf[4][256];
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, 256, "/tmp/gw_nntest_state_%d_%s.h5", (int)getpid(), tag);
  unlink(p);
  return p;
}

// ---- a small model: conv + batch norm + linear ----

typedef struct net {
  gw_nn nn;
  gw_conv_m conv;
  gw_batchnorm_m bn;
  gw_linear_m fc;
} net;

static void net_init(net *m, uint64_t seed, const char *prefix) {
  gw_nn_init(&m->nn, seed);
  gw_conv_init(&m->conv, &m->nn, gw_nn_name(prefix, "conv"), 2, 3, 3, 1, 1, 1, true);
  gw_batchnorm_init(&m->bn, &m->nn, gw_nn_name(prefix, "bn"), 3, true);
  gw_linear_init(&m->fc, &m->nn, gw_nn_name(prefix, "fc"), 3, 2, true);
}

static gw_tensor *net_loss(net *m, gw_tensor *x) {
  gw_tensor *h = gw_relu(gw_batchnorm_forward(&m->bn, gw_conv_forward(&m->conv, x)));
  gw_tensor *y = gw_linear_forward(&m->fc, gw_mean(h, 2, (int[]){2, 3}, false));
  return gw_mean_all(gw_mul(y, y));
}

// A few optimizer steps so parameters, running statistics and moments are all non-trivial.
static void train_steps(net *m, gw_optim *o, int steps, uint64_t seed) {
  gw_rng r = gwt_rng(seed);
  for (int s = 0; s < steps; s++) {
    gw_nn_zero_grad(&m->nn);
    gw_backward(net_loss(m, gwt_randn(&r, GW_SHAPE(4, 2, 5, 5))));
    gw_optim_step(o, 1.0f);
    gw_step_end();
  }
}

static void save_all(net *m, gw_optim *o, const char *path) {
  gw_h5 *f = gw_h5_create(path);
  cr_assert(f, "create %s: %s", path, gw_last_error());
  cr_assert_eq(gw_nn_save(&m->nn, f, "params"), 0, "%s", gw_last_error());
  if (o) cr_assert_eq(gw_optim_save(o, f), 0, "%s", gw_last_error());
  cr_assert_eq(gw_h5_close(f), 0, "%s", gw_last_error());
}

static void assert_same_model(gw_nn *a, gw_nn *b) {
  cr_assert_eq(a->count, b->count);
  for (int i = 0; i < a->count; i++) {
    cr_assert_str_eq(a->items[i].name, b->items[i].name);
    gwt_assert_same_bits(b->items[i].tensor, a->items[i].tensor, a->items[i].name);
  }
}

// Adam: parameters, batch-norm buffers, both moments and the step count come back bit for
// bit, and one more step from the loaded state equals one more step from the original.
Test(nn_state, round_trip_adam_bit_exact) {
  const char *path = tmp_path("adam");
  net a, b;
  net_init(&a, 1, "");
  net_init(&b, 2, "");  // other initial weights
  gw_optim oa, ob;
  gw_optim_init(&oa, &a.nn, (gw_optim_cfg){.kind = GW_ADAMW, .lr = 1e-2f, .weight_decay = 0.1f});
  gw_optim_init(&ob, &b.nn, (gw_optim_cfg){.kind = GW_ADAMW, .lr = 1e-2f, .weight_decay = 0.1f});
  train_steps(&a, &oa, 3, 5);
  save_all(&a, &oa, path);
  gw_h5 *f = gw_h5_open(path);
  cr_assert(f, "%s", gw_last_error());
  int n = gw_nn_load(&b.nn, f, "params", (gw_load_opts){.strict = true});
  cr_assert_eq(n, a.nn.count, "loaded %d of %d: %s", n, a.nn.count, gw_last_error());
  cr_assert_eq(gw_optim_load(&ob, f), 0, "%s", gw_last_error());
  gw_h5_close(f);
  assert_same_model(&a.nn, &b.nn);
  cr_assert_eq(ob.step, 3);
  for (int i = 0; i < oa.n_slots; i++) {
    gwt_assert_same_bits(ob.slots[i].m, oa.slots[i].m, "first moment");
    gwt_assert_same_bits(ob.slots[i].v, oa.slots[i].v, "second moment");
  }
  // both continue identically
  train_steps(&a, &oa, 1, 9);
  train_steps(&b, &ob, 1, 9);
  assert_same_model(&a.nn, &b.nn);
  unlink(path);
  gw_optim_free(&oa);
  gw_optim_free(&ob);
  gw_nn_free(&a.nn);
  gw_nn_free(&b.nn);
}

// SGD with momentum: the buffers and the "started" flag survive (a fresh optimizer would treat
// its next step as the first and copy the gradient into the buffer instead of mixing it in);
// a slot that never stepped stays not started.
Test(nn_state, round_trip_sgd_started_flag) {
  const char *path = tmp_path("sgd");
  net a, b;
  net_init(&a, 3, "");
  net_init(&b, 4, "");
  gw_tensor *unused_a = gw_nn_param(&a.nn, "", "unused", GW_SHAPE(2), false);
  gw_tensor *unused_b = gw_nn_param(&b.nn, "", "unused", GW_SHAPE(2), false);
  (void)unused_a;
  (void)unused_b;
  gw_optim_cfg cfg = {.kind = GW_SGD, .lr = 0.05f, .momentum = 0.9f, .dampening = 0.2f};
  gw_optim oa, ob;
  gw_optim_init(&oa, &a.nn, cfg);
  gw_optim_init(&ob, &b.nn, cfg);
  train_steps(&a, &oa, 2, 6);
  save_all(&a, &oa, path);
  gw_h5 *f = gw_h5_open(path);
  cr_assert(f, "%s", gw_last_error());
  cr_assert_eq(gw_nn_load(&b.nn, f, "params", (gw_load_opts){.strict = true}), a.nn.count, "%s",
               gw_last_error());
  cr_assert_eq(gw_optim_load(&ob, f), 0, "%s", gw_last_error());
  gw_h5_close(f);
  for (int i = 0; i < oa.n_slots; i++) {
    bool unused = !strcmp(oa.slots[i].param->name, "unused");
    cr_assert_eq(oa.slots[i].started, !unused, "%s", oa.slots[i].param->name);
    cr_assert_eq(ob.slots[i].started, oa.slots[i].started, "%s: started flag lost",
                 ob.slots[i].param->name);
    gwt_assert_same_bits(ob.slots[i].m, oa.slots[i].m, "momentum buffer");
  }
  cr_assert_eq(ob.step, 2);
  train_steps(&a, &oa, 1, 10);
  train_steps(&b, &ob, 1, 10);
  assert_same_model(&a.nn, &b.nn);
  unlink(path);
  gw_optim_free(&oa);
  gw_optim_free(&ob);
  gw_nn_free(&a.nn);
  gw_nn_free(&b.nn);
}

// A strict load names every missing name, every unexpected name and every shape mismatch in
// one message, fails, and changes nothing in the model.
Test(nn_state, strict_load_lists_every_problem) {
  const char *path = tmp_path("strict");
  gw_nn src;
  gw_nn_init(&src, 1);
  gw_nn_param(&src, "a", "weight", GW_SHAPE(2, 3), false);
  gw_nn_param(&src, "b", "weight", GW_SHAPE(4), false);
  gw_nn_param(&src, "c", "weight", GW_SHAPE(5), false);
  gw_nn_param(&src, "extra", "weight", GW_SHAPE(1), false);
  gw_nn_param(&src, "extra2", "bias", GW_SHAPE(1), true);
  for (int i = 0; i < src.count; i++) gw_fill(src.items[i].tensor, 7.0f);
  gw_h5 *f = gw_h5_create(path);
  cr_assert_eq(gw_nn_save(&src, f, "params"), 0);
  gw_h5_close(f);
  gw_nn dst;
  gw_nn_init(&dst, 2);
  gw_tensor *a = gw_nn_param(&dst, "a", "weight", GW_SHAPE(3, 2), false);  // transposed shape
  gw_tensor *b = gw_nn_param(&dst, "b", "weight", GW_SHAPE(4), false);
  gw_nn_param(&dst, "c", "weight", GW_SHAPE(6), false);                    // another length
  gw_nn_param(&dst, "missing", "weight", GW_SHAPE(2), false);
  gw_nn_buffer(&dst, "missing2", "running_mean", GW_SHAPE(2));
  f = gw_h5_open(path);
  cr_assert(f);
  int n = gw_nn_load(&dst, f, "params", (gw_load_opts){.strict = true});
  gw_h5_close(f);
  cr_assert_eq(n, -1, "a strict load with problems returned %d", n);
  const char *msg = gw_last_error();
  const char *want[] = {path, "6 problems", "missing from the file: missing.weight",
                        "missing from the file: missing2.running_mean",
                        "unexpected in the file: extra.weight",
                        "unexpected in the file: extra2.bias", "shape mismatch: a.weight",
                        "(2, 3) in the file, (3, 2) in the model", "shape mismatch: c.weight"};
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
    cr_assert(strstr(msg, want[k]), "the error does not mention \"%s\":\n%s", want[k], msg);
  cr_assert(!strstr(msg, "b.weight"), "b.weight is fine but reported:\n%s", msg);
  for (int i = 0; i < 4; i++) cr_assert_eq(gw_f32(b)[i], 0.0f, "a failed load changed b.weight");
  cr_assert_eq(gw_f32(a)[0], 0.0f);
  unlink(path);
  gw_nn_free(&src);
  gw_nn_free(&dst);
}

// A backbone saved as "backbone.*" by one model loads into "visual.backbone.*" of another with
// only= and file_prefix=, strictly (the file's other names are outside the prefix and not
// "unexpected"); the model's other tensors are left alone. only= alone loads one sub-module
// under the same name.
Test(nn_state, partial_load_with_prefixes) {
  const char *path = tmp_path("partial");
  net src;
  net_init(&src, 1, "backbone");
  gw_linear_m head;
  gw_linear_init(&head, &src.nn, "head", 2, 2, true);
  gw_optim o;
  gw_optim_init(&o, &src.nn, (gw_optim_cfg){.kind = GW_SGD, .lr = 0.1f});
  train_steps(&src, &o, 2, 3);  // moves the batch-norm statistics too
  save_all(&src, NULL, path);
  gw_nn dst;
  gw_nn_init(&dst, 9);
  // the same layers, registered in dst under "visual.backbone"
  gw_conv_m conv;
  gw_batchnorm_m bn;
  gw_linear_m fc;
  gw_conv_init(&conv, &dst, "visual.backbone.conv", 2, 3, 3, 1, 1, 1, true);
  gw_batchnorm_init(&bn, &dst, "visual.backbone.bn", 3, true);
  gw_linear_init(&fc, &dst, "visual.backbone.fc", 3, 2, true);
  gw_linear_m text, head2;
  gw_linear_init(&text, &dst, "text.proj", 2, 2, true);
  gw_linear_init(&head2, &dst, "head", 2, 2, true);
  gw_tensor *text_before = gw_clone(text.weight), *head_before = gw_clone(head2.weight);
  gw_h5 *f = gw_h5_open(path);
  cr_assert(f);
  int n = gw_nn_load(&dst, f, "params", (gw_load_opts){.strict = true, .only = "visual.backbone.",
                                                        .file_prefix = "backbone."});
  cr_assert_eq(n, 8, "loaded %d tensors (want conv 2, bn 4, fc 2): %s", n, gw_last_error());
  for (int i = 0; i < 8; i++) {
    const char *name = src.nn.items[i].name;  // "backbone.x"
    char target[128];
    snprintf(target, sizeof target, "visual.%s", name);
    gw_named *p = gw_nn_find(&dst, target);
    cr_assert(p, "%s not in the model", target);
    gwt_assert_same_bits(p->tensor, src.nn.items[i].tensor, target);
  }
  gwt_assert_same_bits(text.weight, text_before, "text.proj is outside the prefix");
  gwt_assert_same_bits(head2.weight, head_before, "head is outside the prefix");
  // only= alone: the head, under its own name
  n = gw_nn_load(&dst, f, "params", (gw_load_opts){.strict = true, .only = "head."});
  cr_assert_eq(n, 2, "%s", gw_last_error());
  gwt_assert_same_bits(head2.weight, head.weight, "head loaded");
  gwt_assert_same_bits(head2.bias, head.bias, "head bias loaded");
  // a wrong file prefix: every tensor under `only` is missing
  n = gw_nn_load(&dst, f, "params", (gw_load_opts){.strict = true, .only = "visual.backbone.",
                                                    .file_prefix = "encoder."});
  cr_assert_eq(n, -1);
  cr_assert(strstr(gw_last_error(), "missing from the file: encoder.conv.weight"), "%s",
            gw_last_error());
  gw_h5_close(f);
  unlink(path);
  gw_optim_free(&o);
  gw_nn_free(&src.nn);
  gw_nn_free(&dst);
}

// A non-strict load takes what matches, skips what the file lacks and ignores what the model
// lacks; a shape mismatch still fails.
Test(nn_state, non_strict_load_skips_missing) {
  const char *path = tmp_path("loose");
  gw_nn src;
  gw_nn_init(&src, 1);
  gw_tensor *sa = gw_nn_param(&src, "a", "weight", GW_SHAPE(3), false);
  gw_nn_param(&src, "only_in_file", "weight", GW_SHAPE(2), false);
  gw_fill(sa, 1.5f);
  gw_h5 *f = gw_h5_create(path);
  cr_assert_eq(gw_nn_save(&src, f, "params"), 0);
  gw_h5_close(f);
  gw_nn dst;
  gw_nn_init(&dst, 2);
  gw_tensor *a = gw_nn_param(&dst, "a", "weight", GW_SHAPE(3), false);
  gw_tensor *m = gw_nn_param(&dst, "only_in_model", "weight", GW_SHAPE(2), false);
  gw_fill(m, -2.0f);
  f = gw_h5_open(path);
  int n = gw_nn_load(&dst, f, "params", (gw_load_opts){.strict = false});
  cr_assert_eq(n, 1, "loaded %d: %s", n, gw_last_error());
  gwt_assert_same_bits(a, sa, "the matching tensor is loaded");
  cr_assert(gw_f32(m)[0] == -2.0f && gw_f32(m)[1] == -2.0f, "the missing tensor was changed");
  cr_assert_eq(gw_nn_load(&dst, f, "params", (gw_load_opts){.strict = true}), -1,
               "strict: the same file fails");
  gw_nn bad;
  gw_nn_init(&bad, 3);
  gw_nn_param(&bad, "a", "weight", GW_SHAPE(4), false);
  cr_assert_eq(gw_nn_load(&bad, f, "params", (gw_load_opts){.strict = false}), -1);
  cr_assert(strstr(gw_last_error(), "shape mismatch: a.weight"), "%s", gw_last_error());
  gw_h5_close(f);
  unlink(path);
  gw_nn_free(&src);
  gw_nn_free(&dst);
  gw_nn_free(&bad);
}

// Opening a file that is not there fails with its path in the message; loading from a group
// that is not in the file names the group.
Test(nn_state, missing_file_and_group) {
  const char *path = tmp_path("absent");
  cr_assert_null(gw_h5_open(path));
  cr_assert(strstr(gw_last_error(), path), "the error does not name the path: %s", gw_last_error());
  const char *p2 = tmp_path("nogroup");
  gw_nn nn;
  gw_nn_init(&nn, 1);
  gw_nn_param(&nn, "x", "weight", GW_SHAPE(2), false);
  gw_h5 *f = gw_h5_create(p2);
  cr_assert_eq(gw_nn_save(&nn, f, "params"), 0);
  gw_h5_close(f);
  f = gw_h5_open(p2);
  cr_assert_eq(gw_nn_load(&nn, f, "weights", (gw_load_opts){.strict = true}), -1);
  cr_assert(strstr(gw_last_error(), "weights"), "%s", gw_last_error());
  gw_h5_close(f);
  unlink(p2);
  gw_nn_free(&nn);
}
