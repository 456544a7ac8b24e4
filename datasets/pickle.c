// The pickle stack machine (reading) and a protocol 0 / 2 writer. Opcode names and semantics
// follow CPython's Lib/pickle.py and Lib/pickletools.py.
#include "datasets/pickle.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

// ---- nodes ----

static gw_pk *node(gw_pk_type t) {
  gw_pk *v = calloc(1, sizeof *v);
  GW_CHECK(v, "pickle: out of memory");
  v->type = t;
  v->refs = 1;
  return v;
}

gw_pk *gw_pk_none(void) { return node(GW_PK_NONE); }
gw_pk *gw_pk_bool(bool b) {
  gw_pk *v = node(GW_PK_BOOL);
  v->i = b;
  return v;
}
gw_pk *gw_pk_new_int(int64_t i) {
  gw_pk *v = node(GW_PK_INT);
  v->i = i;
  return v;
}
gw_pk *gw_pk_float(double f) {
  gw_pk *v = node(GW_PK_FLOAT);
  v->f = f;
  return v;
}

static gw_pk *text_node(gw_pk_type t, const char *s, size_t len) {
  gw_pk *v = node(t);
  v->str.s = malloc(len + 1);
  GW_CHECK(v->str.s, "pickle: out of memory for a string of %zu bytes", len);
  memcpy(v->str.s, s, len);
  v->str.s[len] = '\0';
  v->str.len = len;
  return v;
}
gw_pk *gw_pk_str(const char *s) { return text_node(GW_PK_STR, s, strlen(s)); }
gw_pk *gw_pk_bytes(const char *s) { return text_node(GW_PK_BYTES, s, strlen(s)); }
gw_pk *gw_pk_list(void) { return node(GW_PK_LIST); }
gw_pk *gw_pk_tuple(void) { return node(GW_PK_TUPLE); }
gw_pk *gw_pk_dict(void) { return node(GW_PK_DICT); }
gw_pk *gw_pk_ref(gw_pk *v) {
  v->refs++;
  return v;
}

static void seq_push(gw_pk *v, gw_pk *item) {
  if (v->seq.n == v->seq.cap) {
    v->seq.cap = v->seq.cap ? 2 * v->seq.cap : 8;
    v->seq.items = realloc(v->seq.items, v->seq.cap * sizeof *v->seq.items);
    GW_CHECK(v->seq.items, "pickle: out of memory");
  }
  v->seq.items[v->seq.n++] = item;
}

gw_pk *gw_pk_append(gw_pk *v, gw_pk *item) {
  GW_CHECK(v->type == GW_PK_LIST || v->type == GW_PK_TUPLE, "gw_pk_append: a %s is not a list",
           gw_pk_type_name(v->type));
  seq_push(v, item);
  return v;
}

gw_pk *gw_pk_set(gw_pk *v, gw_pk *key, gw_pk *value) {
  GW_CHECK(v->type == GW_PK_DICT, "gw_pk_set: a %s is not a dict", gw_pk_type_name(v->type));
  seq_push(v, key);
  seq_push(v, value);
  return v;
}

// Iterative, so a deeply nested (hostile) pickle cannot overflow the C stack.
void gw_pk_free(gw_pk *v) {
  if (!v) return;
  gw_pk **work = NULL;
  size_t n = 0, cap = 0;
  gw_pk *cur = v;
  for (;;) {
    if (--cur->refs == 0) {
      if (cur->type == GW_PK_STR || cur->type == GW_PK_BYTES) free(cur->str.s);
      if (cur->type == GW_PK_LIST || cur->type == GW_PK_TUPLE || cur->type == GW_PK_DICT) {
        if (n + cur->seq.n > cap) {
          cap = 2 * (n + cur->seq.n) + 16;
          work = realloc(work, cap * sizeof *work);
          GW_CHECK(work, "pickle: out of memory");
        }
        for (size_t k = 0; k < cur->seq.n; k++) work[n++] = cur->seq.items[k];
        free(cur->seq.items);
      }
      free(cur);
    }
    if (n == 0) break;
    cur = work[--n];
  }
  free(work);
}

const char *gw_pk_type_name(gw_pk_type t) {
  static const char *const names[] = {"None",  "bool", "int",   "float", "str",
                                      "bytes", "list", "tuple", "dict"};
  return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

gw_pk *gw_pk_get(const gw_pk *v, const char *key) {
  if (!v || v->type != GW_PK_DICT) return NULL;
  for (size_t k = 0; k + 1 < v->seq.n; k += 2) {
    const gw_pk *kv = v->seq.items[k];
    if ((kv->type == GW_PK_STR || kv->type == GW_PK_BYTES) && !strcmp(kv->str.s, key))
      return v->seq.items[k + 1];
  }
  return NULL;
}

const char *gw_pk_text(const gw_pk *v) {
  return v && (v->type == GW_PK_STR || v->type == GW_PK_BYTES) ? v->str.s : NULL;
}

bool gw_pk_is_seq(const gw_pk *v) { return v && (v->type == GW_PK_LIST || v->type == GW_PK_TUPLE); }

size_t gw_pk_len(const gw_pk *v) {
  if (!v) return 0;
  if (gw_pk_is_seq(v)) return v->seq.n;
  return v->type == GW_PK_DICT ? v->seq.n / 2 : 0;
}

gw_pk *gw_pk_item(const gw_pk *v, size_t k) {
  return gw_pk_is_seq(v) && k < v->seq.n ? v->seq.items[k] : NULL;
}

bool gw_pk_number(const gw_pk *v, double *out) {
  if (!v) return false;
  if (v->type == GW_PK_INT || v->type == GW_PK_BOOL) *out = (double)v->i;
  else if (v->type == GW_PK_FLOAT) *out = v->f;
  else return false;
  return true;
}

bool gw_pk_int(const gw_pk *v, int64_t *out) {
  if (!v || (v->type != GW_PK_INT && v->type != GW_PK_BOOL)) return false;
  *out = v->i;
  return true;
}

bool gw_pk_equal(const gw_pk *a, const gw_pk *b) {
  if (a->type != b->type) return false;
  switch (a->type) {
    case GW_PK_NONE: return true;
    case GW_PK_BOOL:
    case GW_PK_INT: return a->i == b->i;
    case GW_PK_FLOAT: return !memcmp(&a->f, &b->f, sizeof a->f);
    case GW_PK_STR:
    case GW_PK_BYTES: return a->str.len == b->str.len && !memcmp(a->str.s, b->str.s, a->str.len);
    default:
      if (a->seq.n != b->seq.n) return false;
      for (size_t k = 0; k < a->seq.n; k++)
        if (!gw_pk_equal(a->seq.items[k], b->seq.items[k])) return false;
      return true;
  }
}

// ---- reading ----

typedef struct parser {
  const uint8_t *start, *p, *end;
  const char *name;
  size_t op_at;  // byte offset of the current opcode
  gw_pk **stack;
  size_t n, cap;
  size_t *marks;
  size_t n_marks, cap_marks;
  gw_pk **memo;
  size_t memo_cap, memo_len;
} parser;

static const char *op_name(uint8_t op) {
  switch (op) {
    case '(': return "MARK";
    case '.': return "STOP";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'F': return "FLOAT";
    case 'I': return "INT";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'L': return "LONG";
    case 'M': return "BININT2";
    case 'N': return "NONE";
    case 'P': return "PERSID";
    case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'X': return "BINUNICODE";
    case 'a': return "APPEND";
    case 'b': return "BUILD";
    case 'c': return "GLOBAL";
    case 'd': return "DICT";
    case '}': return "EMPTY_DICT";
    case 'e': return "APPENDS";
    case 'g': return "GET";
    case 'h': return "BINGET";
    case 'i': return "INST";
    case 'j': return "LONG_BINGET";
    case 'l': return "LIST";
    case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";
    case 'p': return "PUT";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";
    case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return NULL;
  }
}

// "name: byte N (OPNAME): message"
__attribute__((format(printf, 2, 3))) static void perr(parser *ps, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  uint8_t op = ps->start[ps->op_at];
  const char *on = op_name(op);
  gw_set_error("%s: byte offset %zu, opcode %s: %s", ps->name, ps->op_at, on ? on : "?", msg);
}

static void push(parser *ps, gw_pk *v) {
  if (ps->n == ps->cap) {
    ps->cap = ps->cap ? 2 * ps->cap : 64;
    ps->stack = realloc(ps->stack, ps->cap * sizeof *ps->stack);
    GW_CHECK(ps->stack, "pickle: out of memory");
  }
  ps->stack[ps->n++] = v;
}

// The stack floor: items above the last MARK may be popped, nothing below.
static size_t floor_of(const parser *ps) { return ps->n_marks ? ps->marks[ps->n_marks - 1] : 0; }

static gw_pk *pop(parser *ps) {
  if (ps->n <= floor_of(ps)) {
    perr(ps, "the stack is empty (a malformed pickle)");
    return NULL;
  }
  return ps->stack[--ps->n];
}

static gw_pk *top(parser *ps) {
  if (ps->n <= floor_of(ps)) {
    perr(ps, "the stack is empty (a malformed pickle)");
    return NULL;
  }
  return ps->stack[ps->n - 1];
}

// Pops to the last MARK: *first is the index of the first item above it.
static int pop_mark(parser *ps, size_t *first) {
  if (!ps->n_marks) {
    perr(ps, "no MARK before it (a malformed pickle)");
    return -1;
  }
  *first = ps->marks[--ps->n_marks];
  return 0;
}

static int need(parser *ps, size_t k) {
  if ((size_t)(ps->end - ps->p) < k) {
    perr(ps, "the file ends inside its argument (truncated pickle)");
    return -1;
  }
  return 0;
}

static uint64_t read_le(parser *ps, int k) {
  uint64_t x = 0;
  for (int b = 0; b < k; b++) x |= (uint64_t)ps->p[b] << (8 * b);
  ps->p += k;
  return x;
}

// A text argument up to '\n' (protocol 0); *len excludes the newline.
static const char *read_line(parser *ps, size_t *len) {
  const uint8_t *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
  if (!nl) {
    perr(ps, "the file ends before the end of its text argument (truncated pickle)");
    return NULL;
  }
  const char *s = (const char *)ps->p;
  *len = (size_t)(nl - ps->p);
  ps->p = nl + 1;
  return s;
}

static int memo_put(parser *ps, uint64_t idx) {
  if (idx > ((uint64_t)1 << 28)) {
    perr(ps, "memo index %llu is implausibly large", (unsigned long long)idx);
    return -1;
  }
  gw_pk *v = top(ps);
  if (!v) return -1;
  if (idx >= ps->memo_cap) {
    size_t cap = ps->memo_cap ? ps->memo_cap : 64;
    while (cap <= idx) cap *= 2;
    ps->memo = realloc(ps->memo, cap * sizeof *ps->memo);
    GW_CHECK(ps->memo, "pickle: out of memory");
    memset(ps->memo + ps->memo_cap, 0, (cap - ps->memo_cap) * sizeof *ps->memo);
    ps->memo_cap = cap;
  }
  if (ps->memo[idx]) gw_pk_free(ps->memo[idx]);
  else ps->memo_len++;
  ps->memo[idx] = gw_pk_ref(v);
  return 0;
}

static int memo_get(parser *ps, uint64_t idx) {
  if (idx >= ps->memo_cap || !ps->memo[idx]) {
    perr(ps, "memo index %llu was never stored (a malformed pickle)", (unsigned long long)idx);
    return -1;
  }
  push(ps, gw_pk_ref(ps->memo[idx]));
  return 0;
}

static int parse_int_text(parser *ps, const char *s, size_t len, int64_t *out) {
  char buf[64];
  if (len && s[len - 1] == 'L') len--;  // LONG: "123L"
  if (len == 0 || len >= sizeof buf) {
    perr(ps, "'%.*s' is not an integer this reader can hold", (int)(len < 40 ? len : 40), s);
    return -1;
  }
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end;
  errno = 0;
  long long x = strtoll(buf, &end, 10);
  if (*end || errno) {
    perr(ps, "'%s' is not an integer within 64 bits", buf);
    return -1;
  }
  *out = x;
  return 0;
}

// Little-endian two's complement of k bytes (LONG1/LONG4).
static int parse_long_bytes(parser *ps, uint64_t k, int64_t *out) {
  if (k > 8) {
    perr(ps, "an integer of %llu bytes does not fit in 64 bits", (unsigned long long)k);
    return -1;
  }
  if (need(ps, k) < 0) return -1;
  uint64_t x = read_le(ps, (int)k);
  if (k > 0 && k < 8 && (x >> (8 * k - 1)) & 1) x |= ~(uint64_t)0 << (8 * k);  // sign-extend
  *out = (int64_t)x;
  return 0;
}

static void utf8_put(char **o, uint32_t cp) {
  char *p = *o;
  if (cp < 0x80) {
    *p++ = (char)cp;
  } else if (cp < 0x800) {
    *p++ = (char)(0xC0 | (cp >> 6));
    *p++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *p++ = (char)(0xE0 | (cp >> 12));
    *p++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *p++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *p++ = (char)(0xF0 | (cp >> 18));
    *p++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *p++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *p++ = (char)(0x80 | (cp & 0x3F));
  }
  *o = p;
}

// Decodes one UTF-8 code point at s (n bytes left); returns its length, 0 if invalid.
static int utf8_get(const uint8_t *s, size_t n, uint32_t *cp) {
  if (n == 0) return 0;
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  int len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
  if (!len || (size_t)len > n || s[0] >= 0xF8) return 0;
  uint32_t c = s[0] & (0x7F >> len);
  for (int k = 1; k < len; k++) {
    if ((s[k] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (s[k] & 0x3F);
  }
  if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
      (len == 4 && (c < 0x10000 || c > 0x10FFFF)))
    return 0;
  *cp = c;
  return len;
}

static bool utf8_valid(const uint8_t *s, size_t n) {
  for (size_t k = 0; k < n;) {
    uint32_t cp;
    int l = utf8_get(s + k, n - k, &cp);
    if (!l) return false;
    k += (size_t)l;
  }
  return true;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// STRING: a Python 2 repr, 'text' or "text" with backslash escapes.
static gw_pk *parse_repr(parser *ps, const char *s, size_t len) {
  if (len < 2 || (s[0] != '\'' && s[0] != '"') || s[len - 1] != s[0]) {
    perr(ps, "the string argument is not quoted ('...' or \"...\")");
    return NULL;
  }
  char *buf = malloc(len), *o = buf;
  GW_CHECK(buf, "pickle: out of memory");
  for (size_t k = 1; k + 1 < len; k++) {
    char c = s[k];
    if (c != '\\') {
      *o++ = c;
      continue;
    }
    if (k + 2 >= len) {
      free(buf);
      perr(ps, "the string ends with a lone backslash");
      return NULL;
    }
    char e = s[++k];
    switch (e) {
      case 'n': *o++ = '\n'; break;
      case 't': *o++ = '\t'; break;
      case 'r': *o++ = '\r'; break;
      case 'a': *o++ = '\a'; break;
      case 'b': *o++ = '\b'; break;
      case 'f': *o++ = '\f'; break;
      case 'v': *o++ = '\v'; break;
      case '\\': *o++ = '\\'; break;
      case '\'': *o++ = '\''; break;
      case '"': *o++ = '"'; break;
      case '\n': break;  // line continuation
      case 'x': {
        int h1 = k + 1 + 1 < len ? hexval(s[k + 1]) : -1,
            h2 = k + 2 + 1 < len ? hexval(s[k + 2]) : -1;
        if (h1 < 0 || h2 < 0) {
          free(buf);
          perr(ps, "a \\x escape needs two hex digits");
          return NULL;
        }
        *o++ = (char)(h1 * 16 + h2);
        k += 2;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0';
          for (int d = 0; d < 2 && k + 1 + 1 < len && s[k + 1] >= '0' && s[k + 1] <= '7'; d++)
            v = v * 8 + (s[++k] - '0');
          *o++ = (char)v;
        } else {  // Python keeps unknown escapes as they are
          *o++ = '\\';
          *o++ = e;
        }
    }
  }
  gw_pk *v = text_node(GW_PK_BYTES, buf, (size_t)(o - buf));
  free(buf);
  return v;
}

// UNICODE: raw-unicode-escape (Latin-1 bytes, \uXXXX and \UXXXXXXXX), stored as UTF-8.
static gw_pk *parse_raw_unicode(parser *ps, const char *s, size_t len) {
  char *buf = malloc(4 * len + 1), *o = buf;
  GW_CHECK(buf, "pickle: out of memory");
  for (size_t k = 0; k < len; k++) {
    uint8_t c = (uint8_t)s[k];
    if (c == '\\' && k + 1 < len && (s[k + 1] == 'u' || s[k + 1] == 'U')) {
      int digits = s[k + 1] == 'u' ? 4 : 8;
      uint32_t cp = 0;
      bool ok = k + 1 + (size_t)digits < len;
      for (int d = 0; ok && d < digits; d++) {
        int h = hexval(s[k + 2 + d]);
        ok = h >= 0;
        cp = cp * 16 + (uint32_t)(h < 0 ? 0 : h);
      }
      if (!ok || cp > 0x10FFFF) {
        free(buf);
        perr(ps, "a bad \\%c escape in the unicode text", s[k + 1]);
        return NULL;
      }
      utf8_put(&o, cp);
      k += 1 + (size_t)digits;
    } else {
      utf8_put(&o, c);
    }
  }
  gw_pk *v = text_node(GW_PK_STR, buf, (size_t)(o - buf));
  free(buf);
  return v;
}

static int read_counted(parser *ps, int len_bytes, gw_pk_type t) {
  if (need(ps, (size_t)len_bytes) < 0) return -1;
  uint64_t n = read_le(ps, len_bytes);
  if (n > (uint64_t)(ps->end - ps->p)) {
    perr(ps, "a string of %llu bytes runs past the end of the file (truncated pickle)",
         (unsigned long long)n);
    return -1;
  }
  if (t == GW_PK_STR && !utf8_valid(ps->p, (size_t)n)) {
    perr(ps, "the text is not valid UTF-8");
    return -1;
  }
  push(ps, text_node(t, (const char *)ps->p, (size_t)n));
  ps->p += n;
  return 0;
}

// Items stack[first..n) become the children of a new container of type t.
static gw_pk *collect(parser *ps, size_t first, gw_pk_type t) {
  gw_pk *v = node(t);
  for (size_t k = first; k < ps->n; k++) seq_push(v, ps->stack[k]);
  ps->n = first;
  return v;
}

// Appends stack[first..n) to the container below them (APPENDS, SETITEMS, ADDITEMS).
static int extend_below(parser *ps, size_t first, gw_pk_type want) {
  if (first == 0 || first <= floor_of(ps)) {
    perr(ps, "there is no container below the MARK");
    return -1;
  }
  gw_pk *c = ps->stack[first - 1];
  if (c->type != want) {
    perr(ps, "expects a %s below the MARK, found a %s", gw_pk_type_name(want),
         gw_pk_type_name(c->type));
    return -1;
  }
  if (want == GW_PK_DICT && (ps->n - first) % 2) {
    perr(ps, "an odd number of items (keys and values come in pairs)");
    return -1;
  }
  for (size_t k = first; k < ps->n; k++) seq_push(c, ps->stack[k]);
  ps->n = first;
  return 0;
}

static int refuse(parser *ps, uint8_t op) {
  char what[160] = "";
  if (op == 'c' || op == 'i') {  // GLOBAL / INST name the class in two text lines
    const uint8_t *q = ps->p, *nl1 = memchr(q, '\n', (size_t)(ps->end - q));
    const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(ps->end - nl1 - 1)) : NULL;
    if (nl1 && nl2 && nl2 - q < 120)
      snprintf(what, sizeof what, " (%.*s.%.*s)", (int)(nl1 - q), (const char *)q,
               (int)(nl2 - nl1 - 1), (const char *)nl1 + 1);
  }
  perr(ps,
       "refused: it constructs a Python object or runs code%s, and this reader takes plain "
       "data only (dict, list, tuple, str, bytes, int, float, bool, None); re-save the file from "
       "plain Python types",
       what);
  return -1;
}

static int step(parser *ps, uint8_t op, bool *stop) {
  size_t len, first;
  const char *s;
  int64_t iv;
  gw_pk *a, *b, *c;
  switch (op) {
    case 0x80:  // PROTO
      if (need(ps, 1) < 0) return -1;
      if (*ps->p > 5) {
        perr(ps, "protocol %d is newer than any this reader knows (0-5)", *ps->p);
        return -1;
      }
      ps->p++;
      return 0;
    case 0x95:  // FRAME: a length prefix only
      if (need(ps, 8) < 0) return -1;
      ps->p += 8;
      return 0;
    case '.': *stop = true; return 0;
    case '(':
      if (ps->n_marks == ps->cap_marks) {
        ps->cap_marks = ps->cap_marks ? 2 * ps->cap_marks : 16;
        ps->marks = realloc(ps->marks, ps->cap_marks * sizeof *ps->marks);
        GW_CHECK(ps->marks, "pickle: out of memory");
      }
      ps->marks[ps->n_marks++] = ps->n;
      return 0;
    case '0':  // POP (or the MARK itself when nothing is above it)
      if (ps->n > floor_of(ps)) gw_pk_free(ps->stack[--ps->n]);
      else if (pop_mark(ps, &first) < 0) return -1;
      return 0;
    case '1':  // POP_MARK
      if (pop_mark(ps, &first) < 0) return -1;
      while (ps->n > first) gw_pk_free(ps->stack[--ps->n]);
      return 0;
    case '2':  // DUP
      if (!(a = top(ps))) return -1;
      push(ps, gw_pk_ref(a));
      return 0;
    case 'N': push(ps, gw_pk_none()); return 0;
    case 0x88: push(ps, gw_pk_bool(true)); return 0;
    case 0x89: push(ps, gw_pk_bool(false)); return 0;
    case 'I':
      if (!(s = read_line(ps, &len))) return -1;
      if (len == 2 && !memcmp(s, "00", 2)) push(ps, gw_pk_bool(false));
      else if (len == 2 && !memcmp(s, "01", 2)) push(ps, gw_pk_bool(true));
      else if (parse_int_text(ps, s, len, &iv) < 0) return -1;
      else push(ps, gw_pk_new_int(iv));
      return 0;
    case 'L':
      if (!(s = read_line(ps, &len)) || parse_int_text(ps, s, len, &iv) < 0) return -1;
      push(ps, gw_pk_new_int(iv));
      return 0;
    case 'J':
      if (need(ps, 4) < 0) return -1;
      push(ps, gw_pk_new_int((int32_t)(uint32_t)read_le(ps, 4)));
      return 0;
    case 'K':
      if (need(ps, 1) < 0) return -1;
      push(ps, gw_pk_new_int((int64_t)read_le(ps, 1)));
      return 0;
    case 'M':
      if (need(ps, 2) < 0) return -1;
      push(ps, gw_pk_new_int((int64_t)read_le(ps, 2)));
      return 0;
    case 0x8a:  // LONG1
    case 0x8b:  // LONG4
      if (need(ps, op == 0x8a ? 1 : 4) < 0) return -1;
      if (parse_long_bytes(ps, read_le(ps, op == 0x8a ? 1 : 4), &iv) < 0) return -1;
      push(ps, gw_pk_new_int(iv));
      return 0;
    case 'F': {
      if (!(s = read_line(ps, &len))) return -1;
      char buf[64], *end;
      if (len == 0 || len >= sizeof buf) {
        perr(ps, "not a float");
        return -1;
      }
      memcpy(buf, s, len);
      buf[len] = '\0';
      double f = strtod(buf, &end);
      if (*end) {
        perr(ps, "'%s' is not a float", buf);
        return -1;
      }
      push(ps, gw_pk_float(f));
      return 0;
    }
    case 'G': {
      if (need(ps, 8) < 0) return -1;
      uint64_t bits = 0;
      for (int k = 0; k < 8; k++) bits = (bits << 8) | ps->p[k];  // big-endian
      ps->p += 8;
      double f;
      memcpy(&f, &bits, sizeof f);
      push(ps, gw_pk_float(f));
      return 0;
    }
    case 'S':
      if (!(s = read_line(ps, &len)) || !(a = parse_repr(ps, s, len))) return -1;
      push(ps, a);
      return 0;
    case 'V':
      if (!(s = read_line(ps, &len)) || !(a = parse_raw_unicode(ps, s, len))) return -1;
      push(ps, a);
      return 0;
    case 'T': return read_counted(ps, 4, GW_PK_BYTES);
    case 'U': return read_counted(ps, 1, GW_PK_BYTES);
    case 'B': return read_counted(ps, 4, GW_PK_BYTES);
    case 'C': return read_counted(ps, 1, GW_PK_BYTES);
    case 0x8e: return read_counted(ps, 8, GW_PK_BYTES);
    case 'X': return read_counted(ps, 4, GW_PK_STR);
    case 0x8c: return read_counted(ps, 1, GW_PK_STR);
    case 0x8d: return read_counted(ps, 8, GW_PK_STR);
    case ']':
    case 0x8f: push(ps, gw_pk_list()); return 0;  // EMPTY_LIST, EMPTY_SET
    case ')': push(ps, gw_pk_tuple()); return 0;
    case '}': push(ps, gw_pk_dict()); return 0;
    case 'l':
    case 0x91:  // LIST, FROZENSET
      if (pop_mark(ps, &first) < 0) return -1;
      push(ps, collect(ps, first, GW_PK_LIST));
      return 0;
    case 't':
      if (pop_mark(ps, &first) < 0) return -1;
      push(ps, collect(ps, first, GW_PK_TUPLE));
      return 0;
    case 'd':
      if (pop_mark(ps, &first) < 0) return -1;
      if ((ps->n - first) % 2) {
        perr(ps, "an odd number of items (keys and values come in pairs)");
        return -1;
      }
      push(ps, collect(ps, first, GW_PK_DICT));
      return 0;
    case 0x85:
    case 0x86:
    case 0x87: {
      size_t k = (size_t)(op - 0x84);
      if (ps->n < floor_of(ps) + k) {
        perr(ps, "needs %zu items on the stack", k);
        return -1;
      }
      push(ps, collect(ps, ps->n - k, GW_PK_TUPLE));
      return 0;
    }
    case 'a':
      if (!(a = pop(ps)) || !(b = top(ps))) return -1;
      if (b->type != GW_PK_LIST) {
        perr(ps, "appends to a %s (expects a list)", gw_pk_type_name(b->type));
        gw_pk_free(a);
        return -1;
      }
      seq_push(b, a);
      return 0;
    case 'e':
    case 0x90:  // APPENDS, ADDITEMS
      if (pop_mark(ps, &first) < 0) return -1;
      return extend_below(ps, first, GW_PK_LIST);
    case 's':
      if (!(a = pop(ps))) return -1;
      if (!(b = pop(ps))) {
        gw_pk_free(a);
        return -1;
      }
      if (!(c = top(ps)) || c->type != GW_PK_DICT) {
        if (c) perr(ps, "sets an item on a %s (expects a dict)", gw_pk_type_name(c->type));
        gw_pk_free(a);
        gw_pk_free(b);
        return -1;
      }
      gw_pk_set(c, b, a);
      return 0;
    case 'u':
      if (pop_mark(ps, &first) < 0) return -1;
      return extend_below(ps, first, GW_PK_DICT);
    case 'p':
      if (!(s = read_line(ps, &len)) || parse_int_text(ps, s, len, &iv) < 0) return -1;
      if (iv < 0) {
        perr(ps, "a negative memo index");
        return -1;
      }
      return memo_put(ps, (uint64_t)iv);
    case 'q':
    case 'r':
      if (need(ps, op == 'q' ? 1 : 4) < 0) return -1;
      return memo_put(ps, read_le(ps, op == 'q' ? 1 : 4));
    case 0x94: return memo_put(ps, ps->memo_len);  // MEMOIZE
    case 'g':
      if (!(s = read_line(ps, &len)) || parse_int_text(ps, s, len, &iv) < 0) return -1;
      if (iv < 0) {
        perr(ps, "a negative memo index");
        return -1;
      }
      return memo_get(ps, (uint64_t)iv);
    case 'h':
    case 'j':
      if (need(ps, op == 'h' ? 1 : 4) < 0) return -1;
      return memo_get(ps, read_le(ps, op == 'h' ? 1 : 4));
    case 'c':
    case 'i':
    case 'o':
    case 'R':
    case 'b':
    case 'P':
    case 'Q':
    case 0x81:
    case 0x82:
    case 0x83:
    case 0x84:
    case 0x92:
    case 0x93:
    case 0x96:
    case 0x97:
    case 0x98: return refuse(ps, op);
    default:
      gw_set_error(
          "%s: byte offset %zu: unknown pickle opcode 0x%02x ('%c'); the file is not a "
          "pickle, is corrupt, or uses a protocol newer than 5",
          ps->name, ps->op_at, op, op >= 32 && op < 127 ? op : '?');
      return -1;
  }
}

gw_pk *gw_pickle_parse(const void *data, size_t len, const char *name) {
  parser ps = {0};
  ps.start = ps.p = data;
  ps.end = ps.start + len;
  ps.name = name;
  gw_pk *result = NULL;
  bool stop = false;
  while (!stop) {
    if (ps.p >= ps.end) {
      gw_set_error(
          "%s: byte offset %zu: the file ends before the STOP opcode ('.'): a truncated "
          "pickle",
          name, len);
      break;
    }
    ps.op_at = (size_t)(ps.p - ps.start);
    uint8_t op = *ps.p++;
    if (step(&ps, op, &stop) < 0) break;
  }
  if (stop) {
    if (ps.n != 1 || ps.n_marks) {
      gw_set_error(
          "%s: byte offset %zu: STOP with %zu values and %zu marks on the stack "
          "(expected one value): a malformed pickle",
          name, ps.op_at, ps.n, ps.n_marks);
    } else {
      result = ps.stack[--ps.n];
    }
  }
  while (ps.n) gw_pk_free(ps.stack[--ps.n]);
  for (size_t k = 0; k < ps.memo_cap; k++) gw_pk_free(ps.memo[k]);
  free(ps.stack);
  free(ps.marks);
  free(ps.memo);
  return result;
}

gw_pk *gw_pickle_load(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    gw_set_error("%s: cannot open the pickle (%s)", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  GW_CHECK(buf, "pickle: out of memory");
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      GW_CHECK(buf, "pickle: out of memory reading %s", path);
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  bool failed = ferror(f);
  fclose(f);
  if (failed) {
    free(buf);
    gw_set_error("%s: read error", path);
    return NULL;
  }
  gw_pk *v = gw_pickle_parse(buf, n, path);
  free(buf);
  return v;
}

// ---- writing ----

typedef struct writer {
  char *buf;
  size_t n, cap;
  int proto;
  // memo: node pointer -> index, open addressing
  const gw_pk **keys;
  uint32_t *vals;
  size_t table, used;
} writer;

static void emit(writer *w, const void *p, size_t k) {
  if (w->n + k > w->cap) {
    while (w->n + k > w->cap) w->cap = w->cap ? 2 * w->cap : 4096;
    w->buf = realloc(w->buf, w->cap);
    GW_CHECK(w->buf, "pickle: out of memory writing");
  }
  memcpy(w->buf + w->n, p, k);
  w->n += k;
}
static void emit_byte(writer *w, uint8_t b) { emit(w, &b, 1); }
static void emit_le(writer *w, uint64_t x, int k) {
  for (int b = 0; b < k; b++) emit_byte(w, (uint8_t)(x >> (8 * b)));
}
static void emitf(writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emitf(writer *w, const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  emit(w, tmp, (size_t)k);
}

static size_t ptr_hash(const void *p, size_t table) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (size_t)x & (table - 1);
}

static long memo_find(const writer *w, const gw_pk *v) {
  if (!w->table) return -1;
  for (size_t h = ptr_hash(v, w->table); w->keys[h]; h = (h + 1) & (w->table - 1))
    if (w->keys[h] == v) return w->vals[h];
  return -1;
}

static void memo_add(writer *w, const gw_pk *v) {
  if (2 * (w->used + 1) > w->table) {
    size_t old = w->table;
    const gw_pk **ok = w->keys;
    uint32_t *ov = w->vals;
    w->table = old ? 2 * old : 1024;
    w->keys = calloc(w->table, sizeof *w->keys);
    w->vals = calloc(w->table, sizeof *w->vals);
    GW_CHECK(w->keys && w->vals, "pickle: out of memory writing");
    for (size_t k = 0; k < old; k++)
      if (ok[k]) {
        size_t h = ptr_hash(ok[k], w->table);
        while (w->keys[h]) h = (h + 1) & (w->table - 1);
        w->keys[h] = ok[k];
        w->vals[h] = ov[k];
      }
    free(ok);
    free(ov);
  }
  uint32_t idx = (uint32_t)w->used++;
  size_t h = ptr_hash(v, w->table);
  while (w->keys[h]) h = (h + 1) & (w->table - 1);
  w->keys[h] = v;
  w->vals[h] = idx;
  if (w->proto == 0) {
    emitf(w, "p%u\n", idx);
  } else if (idx < 256) {
    emit_byte(w, 'q');
    emit_byte(w, (uint8_t)idx);
  } else {
    emit_byte(w, 'r');
    emit_le(w, idx, 4);
  }
}

// Protocol 0 UNICODE text: raw-unicode-escape with the characters pickle.py escapes.
static int emit_raw_unicode(writer *w, const gw_pk *v) {
  const uint8_t *s = (const uint8_t *)v->str.s;
  for (size_t k = 0; k < v->str.len;) {
    uint32_t cp;
    int l = utf8_get(s + k, v->str.len - k, &cp);
    if (!l) {
      gw_set_error("pickle: a str holds invalid UTF-8 at byte %zu", k);
      return -1;
    }
    k += (size_t)l;
    if (cp == '\\' || cp == 0 || cp == '\n' || cp == '\r' || cp == 0x1a ||
        (cp >= 0x100 && cp < 0x10000))
      emitf(w, "\\u%04x", cp);
    else if (cp >= 0x10000) emitf(w, "\\U%08x", cp);
    else emit_byte(w, (uint8_t)cp);
  }
  return 0;
}

// Protocol 0 STRING: a Python 2 repr in single quotes.
static void emit_repr(writer *w, const gw_pk *v) {
  emit_byte(w, '\'');
  for (size_t k = 0; k < v->str.len; k++) {
    uint8_t c = (uint8_t)v->str.s[k];
    if (c == '\\' || c == '\'') {
      emit_byte(w, '\\');
      emit_byte(w, c);
    } else if (c == '\n') emit(w, "\\n", 2);
    else if (c == '\r') emit(w, "\\r", 2);
    else if (c == '\t') emit(w, "\\t", 2);
    else if (c < 32 || c >= 127) emitf(w, "\\x%02x", c);
    else emit_byte(w, c);
  }
  emit_byte(w, '\'');
}

static int save(writer *w, const gw_pk *v) {
  bool memoized = v->type >= GW_PK_STR;
  if (memoized) {
    long idx = memo_find(w, v);
    if (idx >= 0) {
      if (w->proto == 0) emitf(w, "g%ld\n", idx);
      else if (idx < 256) {
        emit_byte(w, 'h');
        emit_byte(w, (uint8_t)idx);
      } else {
        emit_byte(w, 'j');
        emit_le(w, (uint64_t)idx, 4);
      }
      return 0;
    }
  }
  bool p0 = w->proto == 0;
  switch (v->type) {
    case GW_PK_NONE: emit_byte(w, 'N'); return 0;
    case GW_PK_BOOL:
      if (p0) emit(w, v->i ? "I01\n" : "I00\n", 4);
      else emit_byte(w, v->i ? 0x88 : 0x89);
      return 0;
    case GW_PK_INT:
      if (p0) {
        if (v->i >= INT32_MIN && v->i <= INT32_MAX) emitf(w, "I%lld\n", (long long)v->i);
        else emitf(w, "L%lldL\n", (long long)v->i);
      } else if (v->i >= 0 && v->i < 256) {
        emit_byte(w, 'K');
        emit_byte(w, (uint8_t)v->i);
      } else if (v->i >= 0 && v->i < 65536) {
        emit_byte(w, 'M');
        emit_le(w, (uint64_t)v->i, 2);
      } else if (v->i >= INT32_MIN && v->i <= INT32_MAX) {
        emit_byte(w, 'J');
        emit_le(w, (uint64_t)(uint32_t)(int32_t)v->i, 4);
      } else {  // LONG1: the fewest little-endian two's complement bytes
        int k = 8;
        while (k > 1) {
          int64_t lim = (int64_t)1 << (8 * (k - 1) - 1);
          if (v->i >= -lim && v->i < lim) k--;
          else break;
        }
        emit_byte(w, 0x8a);
        emit_byte(w, (uint8_t)k);
        emit_le(w, (uint64_t)v->i, k);
      }
      return 0;
    case GW_PK_FLOAT:
      if (p0) {
        emitf(w, "F%.17g\n", v->f);
      } else {
        uint64_t bits;
        memcpy(&bits, &v->f, sizeof bits);
        emit_byte(w, 'G');
        for (int k = 7; k >= 0; k--) emit_byte(w, (uint8_t)(bits >> (8 * k)));
      }
      return 0;
    case GW_PK_STR:
      if (p0) {
        emit_byte(w, 'V');
        if (emit_raw_unicode(w, v) < 0) return -1;
        emit_byte(w, '\n');
      } else {
        if (!utf8_valid((const uint8_t *)v->str.s, v->str.len)) {
          gw_set_error("pickle: a str holds invalid UTF-8");
          return -1;
        }
        emit_byte(w, 'X');
        emit_le(w, v->str.len, 4);
        emit(w, v->str.s, v->str.len);
      }
      memo_add(w, v);
      return 0;
    case GW_PK_BYTES:  // a Python 2 str, as Python 2 writes it
      if (p0) {
        emit_byte(w, 'S');
        emit_repr(w, v);
        emit_byte(w, '\n');
      } else if (v->str.len < 256) {
        emit_byte(w, 'U');
        emit_byte(w, (uint8_t)v->str.len);
        emit(w, v->str.s, v->str.len);
      } else {
        emit_byte(w, 'T');
        emit_le(w, v->str.len, 4);
        emit(w, v->str.s, v->str.len);
      }
      memo_add(w, v);
      return 0;
    case GW_PK_LIST:
    case GW_PK_DICT: {
      bool dict = v->type == GW_PK_DICT;
      if (p0) emit(w, dict ? "(d" : "(l", 2);
      else emit_byte(w, dict ? '}' : ']');
      memo_add(w, v);
      size_t step_n = dict ? 2 : 1;
      for (size_t k = 0; k < v->seq.n;) {
        // protocol 2 batches up to 1000 items between MARK and APPENDS/SETITEMS, like pickle.py
        size_t batch = p0 ? step_n : (v->seq.n - k < 1000 * step_n ? v->seq.n - k : 1000 * step_n);
        bool many = !p0 && batch > step_n;
        if (many) emit_byte(w, '(');
        for (size_t j = 0; j < batch; j++)
          if (save(w, v->seq.items[k + j]) < 0) return -1;
        emit_byte(w, many ? (dict ? 'u' : 'e') : (dict ? 's' : 'a'));
        k += batch;
      }
      return 0;
    }
    case GW_PK_TUPLE:
      if (!p0 && v->seq.n == 0) {
        emit_byte(w, ')');
      } else if (!p0 && v->seq.n <= 3) {
        for (size_t k = 0; k < v->seq.n; k++)
          if (save(w, v->seq.items[k]) < 0) return -1;
        emit_byte(w, (uint8_t)(0x84 + v->seq.n));
      } else {
        emit_byte(w, '(');
        for (size_t k = 0; k < v->seq.n; k++)
          if (save(w, v->seq.items[k]) < 0) return -1;
        emit_byte(w, 't');
      }
      memo_add(w, v);
      return 0;
  }
  return 0;
}

char *gw_pickle_dumps(const gw_pk *v, int protocol, size_t *len) {
  if (protocol != 0 && protocol != 2) {
    gw_set_error("pickle: this writer makes protocol 0 or 2, not %d", protocol);
    return NULL;
  }
  writer w = {0};
  w.proto = protocol;
  if (protocol == 2) {
    emit_byte(&w, 0x80);
    emit_byte(&w, 2);
  }
  int rc = save(&w, v);
  emit_byte(&w, '.');
  free(w.keys);
  free(w.vals);
  if (rc < 0) {
    free(w.buf);
    return NULL;
  }
  *len = w.n;
  return w.buf;
}

int gw_pickle_save(const gw_pk *v, int protocol, const char *path) {
  size_t len;
  char *buf = gw_pickle_dumps(v, protocol, &len);
  if (!buf) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", gw_last_error());
    gw_set_error("%s: %s", path, msg);
    return -1;
  }
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  int rc = f && fwrite(buf, 1, len, f) == len ? 0 : -1;
  if (f && fclose(f) != 0) rc = -1;
  if (rc == 0 && rename(tmp, path) != 0) rc = -1;
  free(buf);
  if (rc < 0) {
    remove(tmp);
    gw_set_error("%s: cannot write the pickle (is the directory there and writable?)", path);
  }
  return rc;
}
