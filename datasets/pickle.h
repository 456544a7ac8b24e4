// A small pickle reader and writer for plain data (shared/datasets.md §2.1): the refer API's
// refs(unc).p files are Python pickles of lists of dicts of strings and numbers.
//
// The reader is a stack machine with a memo table. It reads protocols 0, 1 and 2 and the plain
// data opcodes of protocols 3 and 4 (SHORT_BINUNICODE, MEMOIZE, FRAME, bytes, sets). It refuses
// every opcode that would construct an object or run code (GLOBAL, STACK_GLOBAL, REDUCE, BUILD,
// INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT1/2/4, PERSID, BINPERSID, out-of-band buffers): the error
// names the opcode and its byte offset. Unpickling untrusted data is then as safe as parsing JSON.
//
// Values form a tree of gw_pk nodes. A node reached twice through the memo (GET) is shared and
// reference-counted, so gw_pk_free on the root frees everything once.
//
// The writer emits protocol 0 (text) or 2 (binary), memoizing every container and string like
// Python does (a node that appears twice is written once and fetched with GET after).
#ifndef GW_PICKLE_H
#define GW_PICKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum gw_pk_type {
  GW_PK_NONE,
  GW_PK_BOOL,
  GW_PK_INT,  // int and long, within int64
  GW_PK_FLOAT,
  GW_PK_STR,  // Python 3 str / Python 2 unicode, stored as UTF-8
  GW_PK_BYTES,  // Python 2 str (STRING, BINSTRING, SHORT_BINSTRING) and Python 3 bytes
  GW_PK_LIST,  // also sets and frozensets, as lists
  GW_PK_TUPLE,
  GW_PK_DICT,
} gw_pk_type;

typedef struct gw_pk gw_pk;
struct gw_pk {
  gw_pk_type type;
  int refs;  // owners (the parent, or several through the memo)
  union {
    int64_t i;  // BOOL, INT
    double f;  // FLOAT
    struct {
      char *s;  // NUL-terminated (may contain NULs before len for BYTES)
      size_t len;
    } str;  // STR, BYTES
    struct {
      gw_pk **items;  // LIST, TUPLE: items; DICT: key, value, key, value, ...
      size_t n, cap;  // items (a DICT holds n / 2 pairs)
    } seq;
  };
};

// ---- reading ----

// Parses a whole pickle. `name` is used in error messages (the file name). Returns the root,
// or NULL with gw_last_error() naming the file, the byte offset and the opcode.
gw_pk *gw_pickle_parse(const void *data, size_t len, const char *name);
// Reads and parses a file.
gw_pk *gw_pickle_load(const char *path);
// Drops one reference (frees the node and its children when it was the last).
void gw_pk_free(gw_pk *v);

// Accessors. gw_pk_get looks a string key up in a DICT (NULL if absent or v is not a DICT).
gw_pk *gw_pk_get(const gw_pk *v, const char *key);
// The text of a STR or BYTES node, else NULL.
const char *gw_pk_text(const gw_pk *v);
bool gw_pk_is_seq(const gw_pk *v);  // LIST or TUPLE
// Number of items of a LIST or TUPLE, pairs of a DICT, else 0.
size_t gw_pk_len(const gw_pk *v);
// Item k of a LIST or TUPLE.
gw_pk *gw_pk_item(const gw_pk *v, size_t k);
// A number (INT, BOOL or FLOAT) as a double / int64; false if v is not a number.
bool gw_pk_number(const gw_pk *v, double *out);
bool gw_pk_int(const gw_pk *v, int64_t *out);
const char *gw_pk_type_name(gw_pk_type t);
// Deep equality (floats bitwise, dict pairs in order).
bool gw_pk_equal(const gw_pk *a, const gw_pk *b);

// ---- building ----

gw_pk *gw_pk_none(void);
gw_pk *gw_pk_bool(bool b);
gw_pk *gw_pk_new_int(int64_t i);
gw_pk *gw_pk_float(double f);
gw_pk *gw_pk_str(const char *s);  // a Python 3 str
gw_pk *gw_pk_bytes(const char *s);  // a Python 2 str (how refs(unc).p stores text)
gw_pk *gw_pk_list(void);
gw_pk *gw_pk_tuple(void);
gw_pk *gw_pk_dict(void);
// Appends to a LIST or TUPLE, taking over the caller's reference to item; returns v.
gw_pk *gw_pk_append(gw_pk *v, gw_pk *item);
// Adds the pair (key, value) to a DICT, taking over both references; returns v. Keys are not
// checked for duplicates (a pickle of a Python dict has none).
gw_pk *gw_pk_set(gw_pk *v, gw_pk *key, gw_pk *value);
// Adds a reference (to put one node in two places).
gw_pk *gw_pk_ref(gw_pk *v);

// ---- writing ----

// Serialises v with protocol 0 or 2 into a malloc'ed buffer (*len bytes); NULL with
// gw_last_error() set if the tree holds something the protocol cannot express.
char *gw_pickle_dumps(const gw_pk *v, int protocol, size_t *len);
// Writes a file (atomically: to path.tmp, then renamed). 0, or -1 naming the file.
int gw_pickle_save(const gw_pk *v, int protocol, const char *path);

#endif
