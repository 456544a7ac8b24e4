#include "tensor/h5io.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct gw_h5 {
  hid_t file;
  bool renames;     // written to tmp, renamed on close
  char path[4096];  // the real name
  char tmp[4108];   // where it is written until closed
};

static void quiet_hdf5(void) {
  // Our messages replace HDF5's error stack dumps.
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

const char *gw_h5_path(const gw_h5 *f) { return f->path; }

gw_h5 *gw_h5_create(const char *path) {
  quiet_hdf5();
  gw_h5 *f = calloc(1, sizeof *f);
  snprintf(f->path, sizeof f->path, "%s", path);
  snprintf(f->tmp, sizeof f->tmp, "%s.tmp", path);
  f->renames = true;
  f->file = H5Fcreate(f->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f->file < 0) {
    gw_set_error("%s: cannot create the file (is the directory there and writable?)", f->tmp);
    free(f);
    return NULL;
  }
  return f;
}

static gw_h5 *open_mode(const char *path, unsigned mode) {
  quiet_hdf5();
  if (access(path, F_OK) != 0) {
    gw_set_error("%s: no such file", path);
    return NULL;
  }
  gw_h5 *f = calloc(1, sizeof *f);
  snprintf(f->path, sizeof f->path, "%s", path);
  f->file = H5Fopen(path, mode, H5P_DEFAULT);
  if (f->file < 0) {
    gw_set_error("%s: not a readable HDF5 file (truncated or corrupt?)", path);
    free(f);
    return NULL;
  }
  return f;
}

gw_h5 *gw_h5_open(const char *path) { return open_mode(path, H5F_ACC_RDONLY); }
gw_h5 *gw_h5_open_rw(const char *path) { return open_mode(path, H5F_ACC_RDWR); }

int gw_h5_close(gw_h5 *f) {
  if (!f) return -1;
  int rc = 0;
  if (H5Fclose(f->file) < 0) {
    gw_set_error("%s: closing the file failed (disk full?)", f->renames ? f->tmp : f->path);
    rc = -1;
  }
  if (f->renames) {
    if (rc == 0 && rename(f->tmp, f->path) != 0) {
      gw_set_error("%s: cannot rename %s into place", f->path, f->tmp);
      rc = -1;
    }
    if (rc != 0) unlink(f->tmp);
  }
  free(f);
  return rc;
}

void gw_h5_abandon(gw_h5 *f) {
  if (!f) return;
  H5Fclose(f->file);
  if (f->renames) unlink(f->tmp);
  free(f);
}

static hid_t mem_type(gw_h5_type t) {
  switch (t) {
    case GW_H5_U8: return H5T_NATIVE_UINT8;
    case GW_H5_I32: return H5T_NATIVE_INT32;
    case GW_H5_I64: return H5T_NATIVE_INT64;
    case GW_H5_F32: return H5T_NATIVE_FLOAT;
    case GW_H5_F64: return H5T_NATIVE_DOUBLE;
  }
  return H5T_NATIVE_FLOAT;
}

static hid_t file_type(gw_h5_type t) {
  switch (t) {
    case GW_H5_U8: return H5T_STD_U8LE;
    case GW_H5_I32: return H5T_STD_I32LE;
    case GW_H5_I64: return H5T_STD_I64LE;
    case GW_H5_F32: return H5T_IEEE_F32LE;
    case GW_H5_F64: return H5T_IEEE_F64LE;
  }
  return H5T_IEEE_F32LE;
}

bool gw_h5_exists(gw_h5 *f, const char *name) {
  // H5Lexists must be asked one path component at a time.
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", name);
  for (char *p = buf; *p; p++) {
    if (*p != '/' || p == buf) continue;
    *p = '\0';
    bool ok = H5Lexists(f->file, buf, H5P_DEFAULT) > 0;
    *p = '/';
    if (!ok) return false;
  }
  return H5Lexists(f->file, buf, H5P_DEFAULT) > 0;
}

// Creates the dataset (intermediate groups as needed); returns its id or -1.
static hid_t create_dataset(gw_h5 *f, const char *name, gw_h5_type type, int ndim,
                            const int64_t *shape, int64_t chunk_rows) {
  hsize_t dims[GW_MAX_DIMS], chunk[GW_MAX_DIMS];
  for (int i = 0; i < ndim; i++) dims[i] = chunk[i] = (hsize_t)shape[i];
  if (gw_h5_exists(f, name)) {
    gw_set_error("%s: the array '%s' is already in the file", f->path, name);
    return -1;
  }
  hid_t space = ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(ndim, dims, NULL);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (chunk_rows > 0 && ndim > 0) {
    chunk[0] = (hsize_t)(chunk_rows < shape[0] ? chunk_rows : shape[0]);
    for (int i = 0; i < ndim; i++)
      if (chunk[i] == 0) chunk[i] = 1;
    H5Pset_chunk(dcpl, ndim, chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 4);
  }
  hid_t ds = H5Dcreate2(f->file, name, file_type(type), space, lcpl, dcpl, H5P_DEFAULT);
  if (ds < 0) gw_set_error("%s: cannot create the array '%s'", f->path, name);
  H5Pclose(dcpl);
  H5Pclose(lcpl);
  H5Sclose(space);
  return ds;
}

int gw_h5_write_array(gw_h5 *f, const char *name, gw_h5_type type, int ndim, const int64_t *shape,
                      const void *data, int64_t chunk_rows) {
  hid_t ds = create_dataset(f, name, type, ndim, shape, chunk_rows);
  if (ds < 0) return -1;
  int rc = 0;
  if (H5Dwrite(ds, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    gw_set_error("%s: writing the array '%s' failed (disk full?)", f->path, name);
    rc = -1;
  }
  H5Dclose(ds);
  return rc;
}

int gw_h5_create_array(gw_h5 *f, const char *name, gw_h5_type type, int ndim, const int64_t *shape,
                       int64_t chunk_rows) {
  hid_t ds = create_dataset(f, name, type, ndim, shape, chunk_rows);
  if (ds < 0) return -1;
  H5Dclose(ds);
  return 0;
}

// Opens a dataset, with a message naming the file when it is missing.
static hid_t open_dataset(gw_h5 *f, const char *name) {
  if (!gw_h5_exists(f, name)) {
    gw_set_error("%s: no array named '%s'", f->path, name);
    return -1;
  }
  hid_t ds = H5Dopen2(f->file, name, H5P_DEFAULT);
  if (ds < 0) gw_set_error("%s: '%s' is not an array", f->path, name);
  return ds;
}

int gw_h5_array_shape(gw_h5 *f, const char *name, int *ndim, int64_t *shape) {
  hid_t ds = open_dataset(f, name);
  if (ds < 0) return -1;
  hid_t space = H5Dget_space(ds);
  int nd = H5Sget_simple_extent_ndims(space);
  int rc = 0;
  if (nd < 0 || nd > GW_MAX_DIMS) {
    gw_set_error("%s: the array '%s' has %d dimensions (at most %d are supported)", f->path, name,
                 nd, GW_MAX_DIMS);
    rc = -1;
  } else {
    hsize_t dims[GW_MAX_DIMS];
    H5Sget_simple_extent_dims(space, dims, NULL);
    *ndim = nd;
    for (int i = 0; i < nd; i++) shape[i] = (int64_t)dims[i];
  }
  H5Sclose(space);
  H5Dclose(ds);
  return rc;
}

int gw_h5_read_array(gw_h5 *f, const char *name, gw_h5_type type, int ndim, const int64_t *shape,
                     void *data) {
  int nd;
  int64_t have[GW_MAX_DIMS];
  if (gw_h5_array_shape(f, name, &nd, have) < 0) return -1;
  bool same = nd == ndim;
  for (int i = 0; same && i < nd; i++) same = have[i] == shape[i];
  if (!same) {
    gw_set_error("%s: the array '%s' has shape %s, expected %s", f->path, name,
                 gw_shape_str_n(nd, have), gw_shape_str_n(ndim, shape));
    return -1;
  }
  hid_t ds = open_dataset(f, name);
  int rc = 0;
  if (H5Dread(ds, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    gw_set_error("%s: reading the array '%s' failed (corrupt file, or a type that does not convert)",
                 f->path, name);
    rc = -1;
  }
  H5Dclose(ds);
  return rc;
}

int gw_h5_read_rows(gw_h5 *f, const char *name, gw_h5_type type, int64_t start, int64_t count,
                    void *data) {
  int nd;
  int64_t have[GW_MAX_DIMS];
  if (gw_h5_array_shape(f, name, &nd, have) < 0) return -1;
  if (nd < 1 || start < 0 || count < 0 || start + count > have[0]) {
    gw_set_error("%s: rows [%lld, %lld) are out of range for the array '%s' of shape %s", f->path,
                 (long long)start, (long long)(start + count), name, gw_shape_str_n(nd, have));
    return -1;
  }
  hid_t ds = open_dataset(f, name);
  hid_t fspace = H5Dget_space(ds);
  hsize_t off[GW_MAX_DIMS] = {0}, cnt[GW_MAX_DIMS];
  for (int i = 0; i < nd; i++) cnt[i] = (hsize_t)have[i];
  off[0] = (hsize_t)start;
  cnt[0] = (hsize_t)count;
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off, NULL, cnt, NULL);
  hid_t mspace = H5Screate_simple(nd, cnt, NULL);
  int rc = 0;
  if (H5Dread(ds, mem_type(type), mspace, fspace, H5P_DEFAULT, data) < 0) {
    gw_set_error("%s: reading rows of the array '%s' failed", f->path, name);
    rc = -1;
  }
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(ds);
  return rc;
}

int gw_h5_write_rows(gw_h5 *f, const char *name, gw_h5_type type, int64_t start, int64_t count,
                     const void *data) {
  int nd;
  int64_t have[GW_MAX_DIMS];
  if (gw_h5_array_shape(f, name, &nd, have) < 0) return -1;
  if (nd < 1 || start < 0 || count < 0 || start + count > have[0]) {
    gw_set_error("%s: rows [%lld, %lld) are out of range for the array '%s' of shape %s", f->path,
                 (long long)start, (long long)(start + count), name, gw_shape_str_n(nd, have));
    return -1;
  }
  if (count == 0) return 0;
  hid_t ds = open_dataset(f, name);
  hid_t fspace = H5Dget_space(ds);
  hsize_t off[GW_MAX_DIMS] = {0}, cnt[GW_MAX_DIMS];
  for (int i = 0; i < nd; i++) cnt[i] = (hsize_t)have[i];
  off[0] = (hsize_t)start;
  cnt[0] = (hsize_t)count;
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off, NULL, cnt, NULL);
  hid_t mspace = H5Screate_simple(nd, cnt, NULL);
  int rc = 0;
  if (H5Dwrite(ds, mem_type(type), mspace, fspace, H5P_DEFAULT, data) < 0) {
    gw_set_error("%s: writing rows of the array '%s' failed (disk full?)", f->path, name);
    rc = -1;
  }
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(ds);
  return rc;
}

static gw_h5_type tensor_h5_type(const gw_tensor *t) { return t->dtype == GW_F32 ? GW_H5_F32 : GW_H5_I32; }

int gw_h5_write_tensor(gw_h5 *f, const char *name, const gw_tensor *t) {
  gw_arena *a = gw_arena_current();
  gw_arena_mark m = gw_arena_get_mark(a);
  const gw_tensor *c = gw_contiguous(t);
  int rc = gw_h5_write_array(f, name, tensor_h5_type(t), t->ndim, t->shape,
                             (const char *)c->data + c->offset * gw_dtype_size(c->dtype), 0);
  gw_arena_rewind(a, m);
  return rc;
}

// The tensor dtype an array reads as without loss: int32 for integers, float32 otherwise.
static int stored_dtype(gw_h5 *f, const char *name, gw_dtype *dt) {
  hid_t ds = open_dataset(f, name);
  if (ds < 0) return -1;
  hid_t ft = H5Dget_type(ds);
  *dt = H5Tget_class(ft) == H5T_INTEGER ? GW_I32 : GW_F32;
  H5Tclose(ft);
  H5Dclose(ds);
  return 0;
}

int gw_h5_read_tensor_into(gw_h5 *f, const char *name, gw_tensor *t) {
  if (!gw_is_contiguous(t)) {
    gw_set_error("%s: reading '%s' into a non-contiguous tensor %s", f->path, name, gw_shape_str(t));
    return -1;
  }
  gw_dtype dt;
  if (stored_dtype(f, name, &dt) < 0) return -1;
  if (dt != t->dtype) {  // HDF5 would convert silently (and truncate floats into ints)
    gw_set_error("%s: the array '%s' holds %s values, the tensor is %s", f->path, name,
                 gw_dtype_name(dt), gw_dtype_name(t->dtype));
    return -1;
  }
  return gw_h5_read_array(f, name, tensor_h5_type(t), t->ndim, t->shape,
                          (char *)t->data + t->offset * gw_dtype_size(t->dtype));
}

gw_tensor *gw_h5_read_tensor(gw_h5 *f, const char *name) {
  int nd;
  int64_t shape[GW_MAX_DIMS];
  if (gw_h5_array_shape(f, name, &nd, shape) < 0) return NULL;
  hid_t ds = open_dataset(f, name);
  hid_t ft = H5Dget_type(ds);
  gw_dtype dt = H5Tget_class(ft) == H5T_INTEGER ? GW_I32 : GW_F32;
  H5Tclose(ft);
  H5Dclose(ds);
  gw_tensor *t = gw_empty(dt, nd, shape);
  if (gw_h5_read_tensor_into(f, name, t) < 0) return NULL;
  return t;
}

// ---- attributes ----

static hid_t open_object(gw_h5 *f, const char *object) {
  if (!object || !object[0]) return H5Oopen(f->file, "/", H5P_DEFAULT);
  if (!gw_h5_exists(f, object)) return -1;
  return H5Oopen(f->file, object, H5P_DEFAULT);
}

static int write_attr(gw_h5 *f, const char *object, const char *attr, hid_t type, const void *v) {
  hid_t obj = open_object(f, object);
  if (obj < 0) {
    gw_set_error("%s: no object '%s' to attach the attribute '%s' to", f->path, object, attr);
    return -1;
  }
  if (H5Aexists(obj, attr) > 0) H5Adelete(obj, attr);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t at = H5Acreate2(obj, attr, type, space, H5P_DEFAULT, H5P_DEFAULT);
  int rc = (at >= 0 && H5Awrite(at, type, v) >= 0) ? 0 : -1;
  if (rc) gw_set_error("%s: cannot write the attribute '%s' on '%s'", f->path, attr, object);
  if (at >= 0) H5Aclose(at);
  H5Sclose(space);
  H5Oclose(obj);
  return rc;
}

int gw_h5_set_attr_str(gw_h5 *f, const char *object, const char *attr, const char *value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, strlen(value) + 1);
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  int rc = write_attr(f, object, attr, type, value);
  H5Tclose(type);
  return rc;
}

int gw_h5_set_attr_i64(gw_h5 *f, const char *object, const char *attr, int64_t value) {
  return write_attr(f, object, attr, H5T_NATIVE_INT64, &value);
}

static hid_t open_attr(gw_h5 *f, const char *object, const char *attr, hid_t *obj) {
  *obj = open_object(f, object);
  if (*obj < 0 || H5Aexists(*obj, attr) <= 0) {
    gw_set_error("%s: no attribute '%s' on '%s'", f->path, attr, object && *object ? object : "/");
    if (*obj >= 0) H5Oclose(*obj);
    return -1;
  }
  return H5Aopen(*obj, attr, H5P_DEFAULT);
}

char *gw_h5_get_attr_str(gw_h5 *f, const char *object, const char *attr) {
  hid_t obj;
  hid_t at = open_attr(f, object, attr, &obj);
  if (at < 0) return NULL;
  hid_t type = H5Aget_type(at);
  char *out = NULL;
  if (H5Tget_class(type) != H5T_STRING) {
    gw_set_error("%s: the attribute '%s' is not a string", f->path, attr);
  } else if (H5Tis_variable_str(type) > 0) {
    char *v = NULL;
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    if (H5Aread(at, mt, &v) >= 0 && v) {
      out = strdup(v);
      H5free_memory(v);
    }
    H5Tclose(mt);
  } else {
    size_t n = H5Tget_size(type);
    out = calloc(n + 1, 1);
    if (H5Aread(at, type, out) < 0) {
      free(out);
      out = NULL;
    }
  }
  H5Tclose(type);
  H5Aclose(at);
  H5Oclose(obj);
  return out;
}

int gw_h5_get_attr_i64(gw_h5 *f, const char *object, const char *attr, int64_t *value) {
  hid_t obj;
  hid_t at = open_attr(f, object, attr, &obj);
  if (at < 0) return -1;
  int rc = H5Aread(at, H5T_NATIVE_INT64, value) >= 0 ? 0 : -1;
  if (rc) gw_set_error("%s: the attribute '%s' is not an integer", f->path, attr);
  H5Aclose(at);
  H5Oclose(obj);
  return rc;
}

// ---- listing ----

typedef struct list_ctx {
  void (*fn)(const char *, void *);
  void *ctx;
  int count;
} list_ctx;

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *vctx) {
  (void)obj;
  list_ctx *c = vctx;
  if (info->type == H5O_TYPE_DATASET) {
    if (c->fn) c->fn(name, c->ctx);
    c->count++;
  }
  return 0;
}

int gw_h5_list(gw_h5 *f, const char *group, void (*fn)(const char *, void *), void *ctx) {
  const char *g = group && group[0] ? group : "/";
  if (group && group[0] && !gw_h5_exists(f, group)) {
    gw_set_error("%s: no group named '%s'", f->path, group);
    return -1;
  }
  hid_t obj = H5Oopen(f->file, g, H5P_DEFAULT);
  if (obj < 0) {
    gw_set_error("%s: cannot open the group '%s'", f->path, g);
    return -1;
  }
  list_ctx c = {.fn = fn, .ctx = ctx};
  herr_t rc = H5Ovisit2(obj, H5_INDEX_NAME, H5_ITER_INC, visit, &c, H5O_INFO_BASIC);
  H5Oclose(obj);
  if (rc < 0) {
    gw_set_error("%s: listing '%s' failed", f->path, g);
    return -1;
  }
  return c.count;
}

// ---- sets of named tensors ----

int gw_tensors_save(const char *path, int count, const char *const *names,
                    const gw_tensor *const *tensors) {
  gw_h5 *f = gw_h5_create(path);
  if (!f) return -1;
  for (int i = 0; i < count; i++)
    if (gw_h5_write_tensor(f, names[i], tensors[i]) < 0) {
      gw_h5_abandon(f);
      return -1;
    }
  return gw_h5_close(f);
}

int gw_tensors_load(const char *path, int count, const char *const *names,
                    gw_tensor *const *tensors) {
  gw_h5 *f = gw_h5_open(path);
  if (!f) return -1;
  // Check everything first, so one error lists every problem.
  char msg[4096];
  int len = 0, bad = 0;
  for (int i = 0; i < count; i++) {
    int nd;
    int64_t shape[GW_MAX_DIMS];
    if (!gw_h5_exists(f, names[i])) {
      len += snprintf(msg + len, sizeof msg - (size_t)(len < (int)sizeof msg ? len : (int)sizeof msg),
                      "\n  missing: %s", names[i]);
      bad++;
    } else if (gw_h5_array_shape(f, names[i], &nd, shape) == 0) {
      bool same = nd == tensors[i]->ndim;
      for (int d = 0; same && d < nd; d++) same = shape[d] == tensors[i]->shape[d];
      gw_dtype dt;
      if (!same) {
        len += snprintf(msg + len, sizeof msg - (size_t)(len < (int)sizeof msg ? len : (int)sizeof msg),
                        "\n  shape mismatch: %s is %s in the file, %s expected", names[i],
                        gw_shape_str_n(nd, shape), gw_shape_str(tensors[i]));
        bad++;
      } else if (stored_dtype(f, names[i], &dt) == 0 && dt != tensors[i]->dtype) {
        len += snprintf(msg + len,
                        sizeof msg - (size_t)(len < (int)sizeof msg ? len : (int)sizeof msg),
                        "\n  dtype mismatch: %s is %s in the file, %s expected", names[i],
                        gw_dtype_name(dt), gw_dtype_name(tensors[i]->dtype));
        bad++;
      }
    } else {  // there, but not an array (a group)
      len += snprintf(msg + len,
                      sizeof msg - (size_t)(len < (int)sizeof msg ? len : (int)sizeof msg),
                      "\n  not an array: %s", names[i]);
      bad++;
    }
    if (len >= (int)sizeof msg) len = (int)sizeof msg - 1;
  }
  if (bad) {
    gw_set_error("%s: %d of %d tensors cannot be loaded:%s", path, bad, count, msg);
    gw_h5_abandon(f);
    return -1;
  }
  for (int i = 0; i < count; i++)
    if (gw_h5_read_tensor_into(f, names[i], tensors[i]) < 0) {
      char keep[2048];
      snprintf(keep, sizeof keep, "%s", gw_last_error());
      gw_h5_close(f);
      gw_set_error("%s", keep);
      return -1;
    }
  return gw_h5_close(f);
}
