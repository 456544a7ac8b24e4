// Small HDF5 and JSON helpers for the data set suites.
#ifndef GW_TEST_DATASETS_H5CMP_H
#define GW_TEST_DATASETS_H5CMP_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

// A whole array as int32 / float32 / uint8 (malloc'ed); *rows and *cols from its shape (cols =
// the product of the other dimensions).
__attribute__((unused)) static void *h5_read(const char *path, const char *name, gw_h5_type t,
                                             int64_t *rows, int64_t *cols) {
  gw_h5 *f = gw_h5_open(path);
  cr_assert(f, "%s", gw_last_error());
  int ndim;
  int64_t shape[8];
  cr_assert(gw_h5_array_shape(f, name, &ndim, shape) == 0, "%s: %s", path, gw_last_error());
  *rows = shape[0];
  *cols = 1;
  for (int k = 1; k < ndim; k++) *cols *= shape[k];
  size_t elem = t == GW_H5_U8 ? 1 : t == GW_H5_I64 || t == GW_H5_F64 ? 8 : 4;
  void *v = malloc((size_t)(*rows * *cols) * elem + 1);
  cr_assert(gw_h5_read_array(f, name, t, ndim, shape, v) == 0, "%s", gw_last_error());
  gw_h5_close(f);
  return v;
}

// The same array (shape and bytes) in two files; names the first differing row.
__attribute__((unused)) static void h5_same(const char *a, const char *b, const char *name,
                                            gw_h5_type t) {
  int64_t ra, ca, rb, cb;
  size_t elem = t == GW_H5_U8 ? 1 : 4;
  uint8_t *x = h5_read(a, name, t, &ra, &ca), *y = h5_read(b, name, t, &rb, &cb);
  cr_assert(ra == rb && ca == cb, "%s: shape (%lld, %lld) in %s but (%lld, %lld) in %s", name,
            (long long)ra, (long long)ca, a, (long long)rb, (long long)cb, b);
  for (int64_t r = 0; r < ra; r++)
    cr_assert(!memcmp(x + r * ca * elem, y + r * ca * elem, (size_t)ca * elem),
              "%s row %lld differs between %s and %s", name, (long long)r, a, b);
  free(x);
  free(y);
}

__attribute__((unused)) static json_t *json_file(const char *path) {
  json_error_t err;
  json_t *doc = json_load_file(path, 0, &err);
  cr_assert(doc, "%s:%d: %s", path, err.line, err.text);
  return doc;
}

#endif
