// HDF5 files of named arrays: the storage under checkpoints and data sets.
//
// A name is a path inside the file: "params/visual.layer1.conv.weight" is the dataset
// "visual.layer1.conv.weight" in the group "params" (groups are made as needed; dots are
// just characters). Files being written go to "<path>.tmp" and are renamed to <path> by a
// successful gw_h5_close(), so a crash never leaves a torn file under the real name.
//
// Every function that can fail on bad input returns -1 (or NULL) and leaves a message
// naming the file and the array in gw_last_error().
#ifndef GW_H5IO_H
#define GW_H5IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/tensor.h"

typedef struct gw_h5 gw_h5;

typedef enum gw_h5_type { GW_H5_U8, GW_H5_I32, GW_H5_I64, GW_H5_F32, GW_H5_F64 } gw_h5_type;

gw_h5 *gw_h5_create(const char *path);  // for writing (to path.tmp until closed)
gw_h5 *gw_h5_open(const char *path);    // read-only
gw_h5 *gw_h5_open_rw(const char *path); // read-write in place (no rename)
// Closes; for a file from gw_h5_create, renames path.tmp to path. -1 on failure.
int gw_h5_close(gw_h5 *f);
// Closes a file being written and deletes its temporary file.
void gw_h5_abandon(gw_h5 *f);
const char *gw_h5_path(const gw_h5 *f);

// Arrays of any of the types above. `chunk_rows` > 0 stores the array in chunks of that many
// rows (first dimension), deflate-compressed; 0 stores it contiguous.
int gw_h5_write_array(gw_h5 *f, const char *name, gw_h5_type type, int ndim, const int64_t *shape,
                      const void *data, int64_t chunk_rows);
// An array of the given shape to be filled in pieces with gw_h5_write_rows (chunked and
// compressed like gw_h5_write_array when chunk_rows > 0).
int gw_h5_create_array(gw_h5 *f, const char *name, gw_h5_type type, int ndim, const int64_t *shape,
                       int64_t chunk_rows);
// Writes rows [start, start + count) of an array made by gw_h5_create_array.
int gw_h5_write_rows(gw_h5 *f, const char *name, gw_h5_type type, int64_t start, int64_t count,
                     const void *data);
// Shape of an array (ndim up to GW_MAX_DIMS); -1 if it is missing.
int gw_h5_array_shape(gw_h5 *f, const char *name, int *ndim, int64_t *shape);
// Reads a whole array, converting to `type`; the shape must be `shape` exactly.
int gw_h5_read_array(gw_h5 *f, const char *name, gw_h5_type type, int ndim, const int64_t *shape,
                     void *data);
// Reads rows [start, start + count) of an array along its first dimension.
int gw_h5_read_rows(gw_h5 *f, const char *name, gw_h5_type type, int64_t start, int64_t count,
                    void *data);
bool gw_h5_exists(gw_h5 *f, const char *name);

// Tensors (float32 or int32), by name.
int gw_h5_write_tensor(gw_h5 *f, const char *name, const gw_tensor *t);
// Into an existing tensor: the stored shape and dtype must match.
int gw_h5_read_tensor_into(gw_h5 *f, const char *name, gw_tensor *t);
// A new tensor in the current arena; NULL on error.
gw_tensor *gw_h5_read_tensor(gw_h5 *f, const char *name);

// String and scalar attributes on the file's root ("" for the root) or on an array.
int gw_h5_set_attr_str(gw_h5 *f, const char *object, const char *attr, const char *value);
// Returns a malloc'ed copy of the string (the caller frees it), NULL if missing.
char *gw_h5_get_attr_str(gw_h5 *f, const char *object, const char *attr);
int gw_h5_set_attr_i64(gw_h5 *f, const char *object, const char *attr, int64_t value);
int gw_h5_get_attr_i64(gw_h5 *f, const char *object, const char *attr, int64_t *value);

// Calls fn(name, ctx) for every array under `group` ("" for the whole file), in name order,
// with names relative to the group. Returns the count, or -1.
int gw_h5_list(gw_h5 *f, const char *group, void (*fn)(const char *name, void *ctx), void *ctx);

// A set of named tensors in one call: save writes them all (atomically), load reads each into
// the given tensor and fails, listing every missing name and shape mismatch, if any differ.
int gw_tensors_save(const char *path, int count, const char *const *names,
                    const gw_tensor *const *tensors);
int gw_tensors_load(const char *path, int count, const char *const *names, gw_tensor *const *tensors);

#endif
