// HDF5 files of named arrays: round trips, atomic writes, attributes, listing, partial reads,
// and clear errors for every kind of bad input.
#define _GNU_SOURCE  // nftw's FTW_DEPTH / FTW_PHYS
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

// Each test works in its own directory under /tmp, removed afterwards.
static char dir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void setup(void) {
  gwt_setup();
  snprintf(dir, sizeof dir, "/tmp/gw_h5test_XXXXXX");
  cr_assert(mkdtemp(dir), "cannot make a temporary directory");
}

static void teardown(void) {
  nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  gwt_teardown();
}

TestSuite(tensor_h5io, .init = setup, .fini = teardown);

// A path inside the test's directory (in a ring, so a few can be alive at once).
static const char *path_of(const char *name) {
  static char ring[4][128];
  static int next;
  char *p = ring[next++ % 4];
  snprintf(p, 128, "%s/%s", dir, name);
  return p;
}

static bool file_exists(const char *path) { return access(path, F_OK) == 0; }

static void write_bytes(const char *path, const void *bytes, size_t n) {
  FILE *f = fopen(path, "wb");
  cr_assert(f, "cannot write %s", path);
  cr_assert_eq(fwrite(bytes, 1, n, f), n);
  fclose(f);
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void assert_same_ints(const gw_tensor *a, const gw_tensor *b, const char *what) {
  cr_assert(gw_same_shape(a, b) && a->dtype == GW_I32 && b->dtype == GW_I32, "%s: %s vs %s", what,
            gw_shape_str(a), gw_shape_str(b));
  for (int64_t i = 0; i < gw_numel(a); i++)
    cr_assert_eq(gw_i32(a)[i], gw_i32(b)[i], "%s: element %lld", what, (long long)i);
}

// Float and int tensors of 0 to 6 dims, under names with dots and group paths, read back
// with their shape, dtype and bits; a strided view is written as its row-major values.
Test(tensor_h5io, tensor_round_trip) {
  gw_rng r = gwt_rng(1);
  const char *path = path_of("round.h5");
  gw_tensor *scalar = gw_scalar(3.25f);
  gw_tensor *vec = gwt_randn(&r, GW_SHAPE(5));
  gw_tensor *six = gwt_randn(&r, GW_SHAPE(2, 1, 3, 2, 2, 3));
  gw_tensor *ints = gw_from_ints((int32_t[]){-7, 0, 2147483647, -2147483647 - 1, 42, 1}, 6,
                                 GW_SHAPE(2, 3));
  gw_tensor *int0 = gw_from_ints((int32_t[]){9}, 1, 0, NULL);
  gw_tensor *view = gw_view_transpose(gwt_randn(&r, GW_SHAPE(3, 4)), 0, 1);
  gw_tensor *empty = gw_empty(GW_F32, GW_SHAPE(0, 4));
  struct { const char *name; gw_tensor *t; } items[] = {
      {"scalar", scalar},
      {"params/visual.layer1.conv.weight", vec},
      {"params/visual.layer1.conv.bias.six", six},
      {"a/b/c/d/labels", ints},
      {"int0", int0},
      {"params/transposed.view", view},
      {"empty", empty},
  };
  enum { N = sizeof items / sizeof items[0] };
  gw_h5 *f = gw_h5_create(path);
  cr_assert(f, "%s", gw_last_error());
  for (int i = 0; i < N; i++)
    cr_assert_eq(gw_h5_write_tensor(f, items[i].name, items[i].t), 0, "%s", gw_last_error());
  cr_assert_eq(gw_h5_close(f), 0, "%s", gw_last_error());

  f = gw_h5_open(path);
  cr_assert(f, "%s", gw_last_error());
  cr_assert_str_eq(gw_h5_path(f), path);
  for (int i = 0; i < N; i++) {
    cr_assert(gw_h5_exists(f, items[i].name), "%s is missing", items[i].name);
    gw_tensor *back = gw_h5_read_tensor(f, items[i].name);
    cr_assert(back, "%s: %s", items[i].name, gw_last_error());
    cr_assert_eq(back->dtype, items[i].t->dtype, "%s: dtype", items[i].name);
    if (back->dtype == GW_F32)
      gwt_assert_same_bits(back, items[i].t, items[i].name);
    else
      assert_same_ints(back, items[i].t, items[i].name);
    // And into an existing tensor of the right shape.
    gw_tensor *into = gw_zeros(items[i].t->dtype, items[i].t->ndim, items[i].t->shape);
    cr_assert_eq(gw_h5_read_tensor_into(f, items[i].name, into), 0, "%s", gw_last_error());
    if (into->dtype == GW_F32) gwt_assert_same_bits(into, items[i].t, items[i].name);
  }
  int nd;
  int64_t shape[GW_MAX_DIMS];
  cr_assert_eq(gw_h5_array_shape(f, "params/visual.layer1.conv.bias.six", &nd, shape), 0);
  cr_assert_eq(nd, 6);
  cr_assert_eq(shape[0], 2);
  cr_assert_eq(shape[5], 3);
  cr_assert_eq(gw_h5_array_shape(f, "scalar", &nd, shape), 0);
  cr_assert_eq(nd, 0);
  cr_assert(!gw_h5_exists(f, "params/nothing"));
  cr_assert(!gw_h5_exists(f, "nothing/at/all"));
  cr_assert(gw_h5_exists(f, "params"), "groups exist too");
  gw_h5_close(f);
}

// Raw arrays of every storage type, chunked and compressed or contiguous, convert on read
// (u8 and i64 to float; float to double); an array name is written only once.
Test(tensor_h5io, arrays_of_each_type) {
  const char *path = path_of("arrays.h5");
  gw_h5 *f = gw_h5_create(path);
  uint8_t u8[6] = {0, 1, 127, 128, 200, 255};
  int64_t i64[3] = {-5, (int64_t)1 << 40, 7};
  double f64[4] = {0.1, -2.5, 1e300, 3.0};
  float f32[10];
  for (int i = 0; i < 10; i++) f32[i] = (float)i * 0.5f;
  cr_assert_eq(gw_h5_write_array(f, "u8", GW_H5_U8, GW_SHAPE(2, 3), u8, 0), 0);
  cr_assert_eq(gw_h5_write_array(f, "i64", GW_H5_I64, GW_SHAPE(3), i64, 2), 0);
  cr_assert_eq(gw_h5_write_array(f, "f64", GW_H5_F64, GW_SHAPE(4), f64, 0), 0);
  cr_assert_eq(gw_h5_write_array(f, "g/f32", GW_H5_F32, GW_SHAPE(5, 2), f32, 3), 0);
  cr_assert_eq(gw_h5_write_array(f, "g/f32", GW_H5_F32, GW_SHAPE(5, 2), f32, 0), -1);
  cr_assert(strstr(gw_last_error(), "the array 'g/f32' is already in the file"), "%s",
            gw_last_error());
  cr_assert_eq(gw_h5_close(f), 0);

  f = gw_h5_open(path);
  float fu8[6];
  cr_assert_eq(gw_h5_read_array(f, "u8", GW_H5_F32, GW_SHAPE(2, 3), fu8), 0, "%s", gw_last_error());
  for (int i = 0; i < 6; i++) cr_assert_eq(fu8[i], (float)u8[i]);
  int64_t back64[3];
  cr_assert_eq(gw_h5_read_array(f, "i64", GW_H5_I64, GW_SHAPE(3), back64), 0);
  for (int i = 0; i < 3; i++) cr_assert_eq(back64[i], i64[i]);
  double back_d[4];
  cr_assert_eq(gw_h5_read_array(f, "f64", GW_H5_F64, GW_SHAPE(4), back_d), 0);
  for (int i = 0; i < 4; i++) cr_assert_eq(back_d[i], f64[i]);
  double wide[10];
  cr_assert_eq(gw_h5_read_array(f, "g/f32", GW_H5_F64, GW_SHAPE(5, 2), wide), 0);
  for (int i = 0; i < 10; i++) cr_assert_eq(wide[i], (double)f32[i]);
  // i64 read as an int tensor: gw_h5_read_tensor infers int32 from the integer class.
  gw_tensor *t = gw_h5_read_tensor(f, "i64");
  cr_assert(t && t->dtype == GW_I32);
  cr_assert_eq(gw_i32(t)[0], -5);
  gw_h5_close(f);
}

// Rows [start, start + count) of an array along its first dim, from chunked and contiguous
// storage, with conversion; out-of-range rows give an error naming the array and shape.
Test(tensor_h5io, read_rows) {
  const char *path = path_of("rows.h5");
  float data[10 * 3];
  for (int i = 0; i < 30; i++) data[i] = (float)i;
  gw_h5 *f = gw_h5_create(path);
  cr_assert_eq(gw_h5_write_array(f, "chunked", GW_H5_F32, GW_SHAPE(10, 3), data, 4), 0);
  cr_assert_eq(gw_h5_write_array(f, "flat", GW_H5_F32, GW_SHAPE(10, 3), data, 0), 0);
  cr_assert_eq(gw_h5_write_array(f, "scalar", GW_H5_F32, 0, NULL, data, 0), 0);
  cr_assert_eq(gw_h5_close(f), 0);
  f = gw_h5_open(path);
  const char *names[] = {"chunked", "flat"};
  for (int k = 0; k < 2; k++) {
    float rows[4 * 3];
    cr_assert_eq(gw_h5_read_rows(f, names[k], GW_H5_F32, 2, 4, rows), 0, "%s", gw_last_error());
    for (int i = 0; i < 12; i++)
      cr_assert_eq(rows[i], (float)(6 + i), "%s row element %d", names[k], i);
    double last[3];
    cr_assert_eq(gw_h5_read_rows(f, names[k], GW_H5_F64, 9, 1, last), 0);
    cr_assert_eq(last[2], 29.0);
    cr_assert_eq(gw_h5_read_rows(f, names[k], GW_H5_F32, 10, 0, rows), 0, "zero rows at the end");
    cr_assert_eq(gw_h5_read_rows(f, names[k], GW_H5_F32, 8, 3, rows), -1);
    cr_assert(strstr(gw_last_error(), "rows [8, 11) are out of range"), "%s", gw_last_error());
    cr_assert(strstr(gw_last_error(), "of shape (10, 3)"), "%s", gw_last_error());
    cr_assert_eq(gw_h5_read_rows(f, names[k], GW_H5_F32, -1, 2, rows), -1);
  }
  float s;
  cr_assert_eq(gw_h5_read_rows(f, "scalar", GW_H5_F32, 0, 1, &s), -1, "a 0-dim array has no rows");
  cr_assert_eq(gw_h5_read_rows(f, "missing", GW_H5_F32, 0, 1, &s), -1);
  cr_assert(strstr(gw_last_error(), "no array named 'missing'"), "%s", gw_last_error());
  gw_h5_close(f);
}

// A file being written lives at <path>.tmp: nothing appears at the real path until a
// successful close, which renames it (replacing an older file only then); abandon deletes
// the temporary file and leaves any older file untouched.
Test(tensor_h5io, atomic_write) {
  const char *path = path_of("ckpt.h5"), *tmp = path_of("ckpt.h5.tmp");
  gw_tensor *a = gw_full(1.0f, GW_SHAPE(3));
  gw_h5 *f = gw_h5_create(path);
  cr_assert(f);
  gw_h5_write_tensor(f, "a", a);
  cr_assert(!file_exists(path), "the real path exists before close");
  cr_assert(file_exists(tmp), "the temporary file is not at <path>.tmp");
  cr_assert_eq(gw_h5_close(f), 0);
  cr_assert(file_exists(path));
  cr_assert(!file_exists(tmp), "the temporary file is left after close");

  // A second write: the old file stays readable under the real name until close.
  f = gw_h5_create(path);
  gw_h5_write_tensor(f, "a", gw_full(2.0f, GW_SHAPE(3)));
  gw_h5 *old = gw_h5_open(path);
  cr_assert(old, "the old file must stay readable while the new one is written");
  gw_tensor *v = gw_h5_read_tensor(old, "a");
  cr_assert(v && gw_f32(v)[0] == 1.0f);
  gw_h5_close(old);
  cr_assert_eq(gw_h5_close(f), 0);
  f = gw_h5_open(path);
  cr_assert_eq(gw_f32(gw_h5_read_tensor(f, "a"))[0], 2.0f, "close did not replace the old file");
  gw_h5_close(f);

  // Abandon: nothing at the real path changes and no .tmp is left.
  f = gw_h5_create(path);
  gw_h5_write_tensor(f, "a", gw_full(3.0f, GW_SHAPE(3)));
  gw_h5_abandon(f);
  cr_assert(!file_exists(tmp), "abandon left the temporary file");
  f = gw_h5_open(path);
  cr_assert_eq(gw_f32(gw_h5_read_tensor(f, "a"))[0], 2.0f, "abandon changed the real file");
  gw_h5_close(f);
  const char *fresh = path_of("never.h5");
  f = gw_h5_create(fresh);
  gw_h5_abandon(f);
  cr_assert(!file_exists(fresh) && !file_exists(path_of("never.h5.tmp")));

  // A stale .tmp left by a crash is overwritten, not appended to or refused.
  write_bytes(tmp, "torn write", 10);
  f = gw_h5_create(path);
  cr_assert(f, "%s", gw_last_error());
  gw_h5_write_tensor(f, "b", gw_full(4.0f, GW_SHAPE(2)));
  cr_assert_eq(gw_h5_close(f), 0);
  f = gw_h5_open(path);
  cr_assert(gw_h5_exists(f, "b") && !gw_h5_exists(f, "a"));
  gw_h5_close(f);

  // Creating in a directory that does not exist fails with the path in the message.
  cr_assert_null(gw_h5_create(path_of("no/such/dir.h5")));
  cr_assert(strstr(gw_last_error(), "no/such/dir.h5.tmp: cannot create the file"), "%s",
            gw_last_error());
  cr_assert_eq(gw_h5_close(NULL), -1);
  gw_h5_abandon(NULL);
}

// gw_tensors_save writes a set of named tensors atomically; gw_tensors_load reads them
// back into existing tensors.
Test(tensor_h5io, tensors_save_load) {
  gw_rng r = gwt_rng(2);
  const char *path = path_of("set.h5");
  const char *names[] = {"visual.conv1.weight", "visual.conv1.bias", "text/embed.weight", "step"};
  gw_tensor *ts[] = {gwt_randn(&r, GW_SHAPE(4, 3, 3, 3)), gwt_randn(&r, GW_SHAPE(4)),
                     gwt_randn(&r, GW_SHAPE(10, 8)), gw_from_ints((int32_t[]){1234}, 1, 0, NULL)};
  cr_assert_eq(gw_tensors_save(path, 4, names, (const gw_tensor *const *)ts), 0, "%s",
               gw_last_error());
  cr_assert(!file_exists(path_of("set.h5.tmp")));
  gw_tensor *back[4];
  for (int i = 0; i < 4; i++) back[i] = gw_zeros(ts[i]->dtype, ts[i]->ndim, ts[i]->shape);
  cr_assert_eq(gw_tensors_load(path, 4, names, back), 0, "%s", gw_last_error());
  for (int i = 0; i < 3; i++) gwt_assert_same_bits(back[i], ts[i], names[i]);
  assert_same_ints(back[3], ts[3], "step");
  // A subset can be loaded.
  cr_assert_eq(gw_tensors_load(path, 1, names + 1, back + 1), 0);
  // A failed save (the same name twice) leaves neither the file nor a .tmp behind.
  const char *dup_names[] = {"x", "x"};
  const char *dup = path_of("dup.h5");
  cr_assert_eq(gw_tensors_save(dup, 2, dup_names, (const gw_tensor *const *)ts), -1);
  cr_assert(!file_exists(dup) && !file_exists(path_of("dup.h5.tmp")));
}

// A load that does not fit lists every missing name and every shape mismatch in one
// message (with the file's and the expected shapes), and changes none of the tensors.
Test(tensor_h5io, load_lists_every_problem) {
  const char *path = path_of("partial.h5");
  const char *saved_names[] = {"a.weight", "b.weight", "c.bias"};
  gw_tensor *saved[] = {gw_full(1.0f, GW_SHAPE(2, 3)), gw_full(2.0f, GW_SHAPE(4)),
                        gw_full(3.0f, GW_SHAPE(5))};
  cr_assert_eq(gw_tensors_save(path, 3, saved_names, (const gw_tensor *const *)saved), 0);
  const char *want_names[] = {"a.weight", "missing.one", "b.weight", "c.bias", "missing.two"};
  gw_tensor *want[] = {gw_full(-1.0f, GW_SHAPE(3, 2)), gw_full(-1.0f, GW_SHAPE(1)),
                       gw_full(-1.0f, GW_SHAPE(4)), gw_full(-1.0f, GW_SHAPE(5, 1)),
                       gw_full(-1.0f, GW_SHAPE(2))};
  cr_assert_eq(gw_tensors_load(path, 5, want_names, want), -1);
  const char *msg = gw_last_error();
  const char *expect[] = {
      path,
      "4 of 5 tensors cannot be loaded",
      "missing: missing.one",
      "missing: missing.two",
      "shape mismatch: a.weight is (2, 3) in the file, (3, 2) expected",
      "shape mismatch: c.bias is (5,) in the file, (5, 1) expected",
  };
  for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
    cr_assert(strstr(msg, expect[i]), "the message lacks \"%s\":\n%s", expect[i], msg);
  cr_assert_null(strstr(msg, "b.weight"), "b.weight fits and must not be listed:\n%s", msg);
  for (int i = 0; i < 5; i++)
    cr_assert_eq(gw_f32(want[i])[0], -1.0f, "tensor %d was changed by a failed load", i);

  // A missing file is named.
  cr_assert_eq(gw_tensors_load(path_of("nope.h5"), 1, want_names, want), -1);
  cr_assert(strstr(gw_last_error(), "nope.h5: no such file"), "%s", gw_last_error());
}

// Missing files, missing names and shape mismatches give -1 and a message naming the file
// and the array; none of them crash.
Test(tensor_h5io, clear_errors) {
  const char *missing = path_of("missing.h5");
  cr_assert_null(gw_h5_open(missing));
  cr_assert(strstr(gw_last_error(), missing) && strstr(gw_last_error(), "no such file"), "%s",
            gw_last_error());
  cr_assert_null(gw_h5_open_rw(missing));

  const char *path = path_of("e.h5");
  gw_h5 *f = gw_h5_create(path);
  gw_h5_write_tensor(f, "w", gw_full(1.0f, GW_SHAPE(2, 3)));
  gw_h5_close(f);
  f = gw_h5_open(path);
  cr_assert_null(gw_h5_read_tensor(f, "params/w"));
  cr_assert(strstr(gw_last_error(), "no array named 'params/w'") && strstr(gw_last_error(), path),
            "%s", gw_last_error());
  gw_tensor *wrong = gw_zeros(GW_F32, GW_SHAPE(3, 2));
  cr_assert_eq(gw_h5_read_tensor_into(f, "w", wrong), -1);
  cr_assert(strstr(gw_last_error(), "the array 'w' has shape (2, 3), expected (3, 2)"), "%s",
            gw_last_error());
  gw_tensor *strided = gw_view_transpose(gw_zeros(GW_F32, GW_SHAPE(3, 2)), 0, 1);
  cr_assert_eq(gw_h5_read_tensor_into(f, "w", strided), -1);
  cr_assert(strstr(gw_last_error(), "non-contiguous"), "%s", gw_last_error());
  int nd;
  int64_t shape[GW_MAX_DIMS];
  cr_assert_eq(gw_h5_array_shape(f, "nope", &nd, shape), -1);
  // A group is not an array.
  gw_h5_close(f);
  f = gw_h5_create(path_of("g.h5"));
  gw_h5_write_tensor(f, "grp/x", gw_scalar(1.0f));
  gw_h5_close(f);
  f = gw_h5_open(path_of("g.h5"));
  cr_assert_null(gw_h5_read_tensor(f, "grp"));
  cr_assert(strstr(gw_last_error(), "'grp' is not an array"), "%s", gw_last_error());
  gw_h5_close(f);
}

// The stored dtype must match the tensor read into (h5io.h: "the stored shape and dtype
// must match"): floats are not silently truncated into an int32 tensor, nor labels turned
// into floats; gw_tensors_load lists such mismatches, and arrays that are really groups,
// with the other problems in its one message.
Test(tensor_h5io, dtype_mismatch_is_an_error) {
  const char *path = path_of("dtype.h5");
  const char *names[] = {"weights", "labels"};
  gw_tensor *ts[] = {gw_full(1.75f, GW_SHAPE(3)),
                     gw_from_ints((int32_t[]){1, 2, 3}, 3, GW_SHAPE(3))};
  cr_assert_eq(gw_tensors_save(path, 2, names, (const gw_tensor *const *)ts), 0);
  gw_h5 *f = gw_h5_open(path);
  gw_tensor *as_int = gw_zeros(GW_I32, GW_SHAPE(3));
  cr_assert_eq(gw_h5_read_tensor_into(f, "weights", as_int), -1, "float32 read into int32");
  cr_assert(strstr(gw_last_error(), "'weights'") && strstr(gw_last_error(), "float32") &&
                strstr(gw_last_error(), "int32"),
            "%s", gw_last_error());
  cr_assert_eq(gw_i32(as_int)[0], 0, "the tensor was changed");
  gw_tensor *as_float = gw_zeros(GW_F32, GW_SHAPE(3));
  cr_assert_eq(gw_h5_read_tensor_into(f, "labels", as_float), -1, "int32 read into float32");
  gw_h5_close(f);

  // gw_h5_write_array data of other integer types still read into int32 tensors.
  f = gw_h5_create(path_of("u8.h5"));
  uint8_t u8[3] = {1, 2, 250};
  gw_h5_write_array(f, "u8", GW_H5_U8, GW_SHAPE(3), u8, 0);
  gw_h5_write_tensor(f, "grp/x", gw_scalar(1.0f));
  gw_h5_close(f);
  f = gw_h5_open(path_of("u8.h5"));
  cr_assert_eq(gw_h5_read_tensor_into(f, "u8", as_int), 0, "%s", gw_last_error());
  cr_assert_eq(gw_i32(as_int)[2], 250);
  gw_h5_close(f);

  const char *load_names[] = {"weights", "labels", "missing"};
  gw_tensor *load[] = {gw_zeros(GW_I32, GW_SHAPE(3)), gw_zeros(GW_I32, GW_SHAPE(3)),
                       gw_zeros(GW_F32, GW_SHAPE(3))};
  cr_assert_eq(gw_tensors_load(path, 3, load_names, load), -1);
  const char *msg = gw_last_error();
  cr_assert(strstr(msg, "2 of 3 tensors cannot be loaded"), "%s", msg);
  cr_assert(strstr(msg, "weights") && strstr(msg, "missing: missing"), "%s", msg);
  cr_assert_null(strstr(msg, "labels"), "labels fit:\n%s", msg);

  const char *grp_names[] = {"grp", "nope"};
  gw_tensor *grp[] = {gw_zeros(GW_F32, 0, NULL), gw_zeros(GW_F32, 0, NULL)};
  cr_assert_eq(gw_tensors_load(path_of("u8.h5"), 2, grp_names, grp), -1);
  msg = gw_last_error();
  cr_assert(strstr(msg, "2 of 2 tensors cannot be loaded") && strstr(msg, "grp") &&
                strstr(msg, "missing: nope"),
            "a group where an array is expected must be listed with the rest:\n%s", msg);
}

// Garbage bytes, an empty file, a truncated HDF5 file and a damaged header are refused with
// an error (not a crash), naming the file.
Test(tensor_h5io, corrupt_files) {
  const char *garbage = path_of("garbage.h5");
  char junk[4096];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 131 + 7);
  write_bytes(garbage, junk, sizeof junk);
  cr_assert_null(gw_h5_open(garbage));
  cr_assert(strstr(gw_last_error(), garbage) && strstr(gw_last_error(), "not a readable HDF5"),
            "%s", gw_last_error());
  const char *empty = path_of("empty.h5");
  write_bytes(empty, "", 0);
  cr_assert_null(gw_h5_open(empty));

  // A real file cut in half.
  gw_rng r = gwt_rng(3);
  const char *good = path_of("good.h5");
  gw_h5 *f = gw_h5_create(good);
  for (int i = 0; i < 4; i++) {
    char name[16];
    snprintf(name, sizeof name, "t%d", i);
    gw_h5_write_tensor(f, name, gwt_randn(&r, GW_SHAPE(64, 64)));
  }
  cr_assert_eq(gw_h5_close(f), 0);
  long size = file_size(good);
  cr_assert(size > 4 * 64 * 64 * 4);
  FILE *in = fopen(good, "rb");
  char *bytes = malloc((size_t)size);
  cr_assert_eq(fread(bytes, 1, (size_t)size, in), (size_t)size);
  fclose(in);
  const char *cut = path_of("cut.h5");
  write_bytes(cut, bytes, (size_t)size / 2);
  gw_h5 *c = gw_h5_open(cut);
  if (c) {  // HDF5 may open it; reading what lies past the cut must then fail cleanly
    bool failed = false;
    for (int i = 0; i < 4; i++) {
      char name[16];
      snprintf(name, sizeof name, "t%d", i);
      failed |= gw_h5_read_tensor(c, name) == NULL;
    }
    cr_assert(failed, "every array of a file cut in half was read");
    gw_h5_close(c);
  } else {
    cr_assert(strstr(gw_last_error(), cut), "%s", gw_last_error());
  }
  // The same file with its superblock overwritten after the signature.
  const char *damaged = path_of("damaged.h5");
  memset(bytes + 8, 0xEE, 64);
  write_bytes(damaged, bytes, (size_t)size);
  cr_assert_null(gw_h5_open(damaged), "a damaged superblock was accepted");
  free(bytes);
  // Loading a set from garbage fails with the path.
  gw_tensor *t = gw_zeros(GW_F32, GW_SHAPE(2));
  const char *n = "x";
  cr_assert_eq(gw_tensors_load(garbage, 1, &n, &t), -1);
  cr_assert(strstr(gw_last_error(), garbage), "%s", gw_last_error());
}

// String and int64 attributes on the root and on arrays: set, overwrite, read back; a
// missing attribute or object gives NULL / -1 with a message.
Test(tensor_h5io, attributes) {
  const char *path = path_of("attrs.h5");
  gw_h5 *f = gw_h5_create(path);
  gw_h5_write_tensor(f, "params/w", gw_full(1.0f, GW_SHAPE(2)));
  cr_assert_eq(gw_h5_set_attr_str(f, "", "config", "model: clip\nlr: 0.001\n"), 0);
  cr_assert_eq(gw_h5_set_attr_i64(f, "", "step", (int64_t)1 << 40), 0);
  cr_assert_eq(gw_h5_set_attr_i64(f, "", "step", -12345), 0, "overwrite");
  cr_assert_eq(gw_h5_set_attr_str(f, "params/w", "init", "kaiming"), 0);
  cr_assert_eq(gw_h5_set_attr_str(f, "params/w", "empty", ""), 0);
  cr_assert_eq(gw_h5_set_attr_str(f, "nothing", "x", "y"), -1);
  cr_assert(strstr(gw_last_error(), "no object 'nothing'"), "%s", gw_last_error());
  cr_assert_eq(gw_h5_close(f), 0);

  f = gw_h5_open(path);
  char *cfg = gw_h5_get_attr_str(f, "", "config");
  cr_assert(cfg, "%s", gw_last_error());
  cr_assert_str_eq(cfg, "model: clip\nlr: 0.001\n");
  free(cfg);
  char *init = gw_h5_get_attr_str(f, "params/w", "init");
  cr_assert_str_eq(init, "kaiming");
  free(init);
  char *e = gw_h5_get_attr_str(f, "params/w", "empty");
  cr_assert_str_eq(e, "");
  free(e);
  int64_t step = 0;
  cr_assert_eq(gw_h5_get_attr_i64(f, "", "step", &step), 0);
  cr_assert_eq(step, -12345);
  cr_assert_null(gw_h5_get_attr_str(f, "", "nope"));
  cr_assert(strstr(gw_last_error(), "no attribute 'nope' on '/'"), "%s", gw_last_error());
  cr_assert_eq(gw_h5_get_attr_i64(f, "params/w", "nope", &step), -1);
  cr_assert(strstr(gw_last_error(), "no attribute 'nope' on 'params/w'"), "%s", gw_last_error());
  cr_assert_null(gw_h5_get_attr_str(f, "", "step"), "an integer is not a string");
  cr_assert_null(gw_h5_get_attr_str(f, "missing/obj", "a"));
  gw_h5_close(f);

  // Attributes can be added in place to an existing file (read-write, no rename).
  f = gw_h5_open_rw(path);
  cr_assert(f);
  cr_assert_eq(gw_h5_set_attr_i64(f, "params/w", "version", 3), 0);
  cr_assert_eq(gw_h5_close(f), 0);
  cr_assert(!file_exists(path_of("attrs.h5.tmp")));
  f = gw_h5_open(path);
  cr_assert_eq(gw_h5_get_attr_i64(f, "params/w", "version", &step), 0);
  cr_assert_eq(step, 3);
  gw_h5_close(f);
}

static void collect(const char *name, void *ctx) {
  char *out = ctx;
  strcat(out, name);
  strcat(out, ";");
}

// gw_h5_list visits every array (not groups) under a group, in name order, with names
// relative to the group; a missing group is an error.
Test(tensor_h5io, list) {
  const char *path = path_of("list.h5");
  gw_h5 *f = gw_h5_create(path);
  const char *names[] = {"params/visual.b", "params/visual.a", "params/text/emb", "opt/m/x",
                         "step"};
  for (int i = 0; i < 5; i++) gw_h5_write_tensor(f, names[i], gw_scalar((float)i));
  gw_h5_close(f);
  f = gw_h5_open(path);
  char got[512] = "";
  cr_assert_eq(gw_h5_list(f, "", collect, got), 5);
  cr_assert_str_eq(got, "opt/m/x;params/text/emb;params/visual.a;params/visual.b;step;");
  got[0] = '\0';
  cr_assert_eq(gw_h5_list(f, "params", collect, got), 3);
  cr_assert_str_eq(got, "text/emb;visual.a;visual.b;");
  cr_assert_eq(gw_h5_list(f, "opt/m", NULL, NULL), 1, "fn may be NULL to count");
  cr_assert_eq(gw_h5_list(f, "nothing", collect, got), -1);
  cr_assert(strstr(gw_last_error(), "no group named 'nothing'"), "%s", gw_last_error());
  gw_h5_close(f);
}
