#include "train/config.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "tensor/error.h"

void gw_config_init(gw_config *c) { memset(c, 0, sizeof *c); }

void gw_config_free(gw_config *c) {
  for (int i = 0; i < c->n; i++) {
    free(c->entries[i].key);
    free(c->entries[i].value);
    free(c->entries[i].origin);
  }
  free(c->entries);
  memset(c, 0, sizeof *c);
}

static int find(const gw_config *c, const char *key) {
  for (int i = 0; i < c->n; i++)
    if (!strcmp(c->entries[i].key, key)) return i;
  return -1;
}

static void remove_at(gw_config *c, int i) {
  free(c->entries[i].key);
  free(c->entries[i].value);
  free(c->entries[i].origin);
  c->entries[i] = c->entries[--c->n];
}

static void add(gw_config *c, const char *key, const char *value, const char *origin) {
  int i = find(c, key);
  if (i >= 0) {
    free(c->entries[i].value);
    free(c->entries[i].origin);
    c->entries[i].value = strdup(value);
    c->entries[i].origin = strdup(origin);
    return;
  }
  if (c->n == c->capacity) {
    c->capacity = c->capacity ? 2 * c->capacity : 64;
    c->entries = realloc(c->entries, (size_t)c->capacity * sizeof *c->entries);
    GW_CHECK(c->entries, "config: out of memory");
  }
  c->entries[c->n++] = (gw_cfg_entry){strdup(key), strdup(value), strdup(origin), false};
}

static bool numeric(const char *s, size_t n) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return false;
  return true;
}

// Length of the part of key before its first numeric component ("a.b.3.c" -> 3 for "a.b"),
// or -1 if no component is numeric.
static int list_prefix_len(const char *key) {
  const char *p = key;
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (p != key && numeric(p, n)) return (int)(p - key - 1);
    if (!dot) break;
    p = dot + 1;
  }
  return -1;
}

// Removes the items of the list `key` (the keys "key.<n>..."), and `key` itself.
static void remove_list(gw_config *c, const char *key) {
  size_t n = strlen(key);
  for (int i = c->n - 1; i >= 0; i--) {
    const char *k = c->entries[i].key;
    if (!strncmp(k, key, n) && (k[n] == '\0' || (k[n] == '.' && isdigit((unsigned char)k[n + 1]))))
      remove_at(c, i);
  }
}

void gw_config_set(gw_config *c, const char *key, const char *value, const char *origin) {
  remove_list(c, key);
  add(c, key, value, origin);
}

// ---- YAML ----

typedef struct frame {
  bool seq;          // in a sequence (else a mapping)
  char prefix[256];  // the dotted path of this container
  int index;         // next sequence index
  char key[256];     // mapping: the key whose value comes next ("" when a key is expected)
  int key_line;      // the line of that key
} frame;

static int yaml_fail(const char *origin, int line, const char *what) {
  gw_set_error("%s:%d: %s", origin, line, what);
  return -1;
}

// The full key for the next value in the frame.
static void child_key(frame *f, char *out, size_t n) {
  if (f->seq)
    snprintf(out, n, "%s%s%d", f->prefix, f->prefix[0] ? "." : "", f->index++);
  else
    snprintf(out, n, "%s%s%s", f->prefix, f->prefix[0] ? "." : "", f->key);
}

// Parses one YAML document into c (which should be empty).
static int parse_yaml(gw_config *c, yaml_parser_t *p, const char *origin) {
  frame stack[32];
  int depth = 0;
  int rc = 0;
  gw_config seen, containers;  // keys of values and of mappings/lists, to catch duplicates
  gw_config_init(&seen);
  gw_config_init(&containers);
  for (bool done = false; !done && rc == 0;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(p, &ev)) {
      rc = yaml_fail(origin, (int)p->problem_mark.line + 1,
                     p->problem ? p->problem : "YAML syntax error");
      break;
    }
    int line = (int)ev.start_mark.line + 1;
    char where[1200];
    snprintf(where, sizeof where, "%s:%d", origin, line);
    switch (ev.type) {
      case YAML_STREAM_END_EVENT: done = true; break;
      case YAML_MAPPING_START_EVENT:
      case YAML_SEQUENCE_START_EVENT: {
        if (depth == 32) {
          rc = yaml_fail(origin, line, "nested too deeply");
          break;
        }
        frame nf = {.seq = ev.type == YAML_SEQUENCE_START_EVENT};
        if (depth > 0) {
          frame *f = &stack[depth - 1];
          if (!f->seq && !f->key[0]) {
            rc = yaml_fail(origin, line, "a key must be a plain value, not a list or mapping");
            break;
          }
          child_key(f, nf.prefix, sizeof nf.prefix);
          if (!f->seq) {
            if (find(&seen, nf.prefix) >= 0 || find(&containers, nf.prefix) >= 0) {
              char msg[600];
              snprintf(msg, sizeof msg, "the key '%s' appears twice", nf.prefix);
              rc = yaml_fail(origin, f->key_line, msg);
              break;
            }
            add(&containers, nf.prefix, "", where);
            f->key[0] = '\0';
          }
        } else if (nf.seq) {
          rc = yaml_fail(origin, line, "the config must be a mapping of keys to values");
          break;
        }
        stack[depth++] = nf;
        break;
      }
      case YAML_MAPPING_END_EVENT:
      case YAML_SEQUENCE_END_EVENT: depth--; break;
      case YAML_SCALAR_EVENT: {
        const char *v = (const char *)ev.data.scalar.value;
        if (depth == 0) {
          if (v[0]) rc = yaml_fail(origin, line, "the config must be a mapping of keys to values");
          break;
        }
        frame *f = &stack[depth - 1];
        if (!f->seq && !f->key[0]) {  // a key
          if (!v[0] || strchr(v, '.') || strchr(v, '=')) {
            char msg[300];
            snprintf(msg, sizeof msg, "'%s' is not a valid key (no dots, '=' or empty keys)", v);
            rc = yaml_fail(origin, line, msg);
            break;
          }
          snprintf(f->key, sizeof f->key, "%s", v);
          f->key_line = line;
          break;
        }
        char key[512];
        child_key(f, key, sizeof key);
        if (!f->seq) f->key[0] = '\0';
        if (find(&seen, key) >= 0 || find(&containers, key) >= 0) {
          char msg[600];
          snprintf(msg, sizeof msg, "the key '%s' appears twice", key);
          rc = yaml_fail(origin, line, msg);
          break;
        }
        add(&seen, key, v, where);
        break;
      }
      case YAML_ALIAS_EVENT: rc = yaml_fail(origin, line, "YAML aliases are not supported"); break;
      default: break;
    }
    yaml_event_delete(&ev);
  }
  if (rc == 0)
    for (int i = 0; i < seen.n; i++) add(c, seen.entries[i].key, seen.entries[i].value, seen.entries[i].origin);
  gw_config_free(&seen);
  gw_config_free(&containers);
  return rc;
}

// Lays `top` over c: its keys replace c's, and a list in top replaces c's whole list.
static void overlay(gw_config *c, const gw_config *top) {
  for (int i = 0; i < top->n; i++) {
    int lp = list_prefix_len(top->entries[i].key);
    if (lp <= 0) continue;
    char list_key[512];
    snprintf(list_key, sizeof list_key, "%.*s", lp, top->entries[i].key);
    for (int k = c->n - 1; k >= 0; k--) {
      const char *ck = c->entries[k].key;
      if (find(top, ck) < 0 && !strncmp(ck, list_key, (size_t)lp) &&
          (ck[lp] == '\0' || (ck[lp] == '.' && isdigit((unsigned char)ck[lp + 1]))))
        remove_at(c, k);
    }
  }
  for (int i = 0; i < top->n; i++) add(c, top->entries[i].key, top->entries[i].value, top->entries[i].origin);
}

int gw_config_load_string(gw_config *c, const char *yaml, const char *origin) {
  gw_config own;
  gw_config_init(&own);
  yaml_parser_t p;
  yaml_parser_initialize(&p);
  yaml_parser_set_input_string(&p, (const unsigned char *)yaml, strlen(yaml));
  int rc = parse_yaml(&own, &p, origin);
  yaml_parser_delete(&p);
  if (rc == 0) overlay(c, &own);
  gw_config_free(&own);
  return rc;
}

static int load_file(gw_config *c, const char *path, int depth) {
  if (depth > 8) {
    gw_set_error("%s: too many levels of `base:` (a cycle?)", path);
    return -1;
  }
  FILE *f = fopen(path, "r");
  if (!f) {
    gw_set_error("%s: cannot open the config (%s)", path, strerror(errno));
    return -1;
  }
  gw_config own;
  gw_config_init(&own);
  yaml_parser_t p;
  yaml_parser_initialize(&p);
  yaml_parser_set_input_file(&p, f);
  int rc = parse_yaml(&own, &p, path);
  yaml_parser_delete(&p);
  fclose(f);
  if (rc == 0) {
    int b = find(&own, "base");
    if (b >= 0) {  // the base first, relative to this file's directory
      char dir[1024], base_path[2100];
      snprintf(dir, sizeof dir, "%s", path);
      const char *base = own.entries[b].value;
      if (base[0] == '/')
        snprintf(base_path, sizeof base_path, "%s", base);
      else
        snprintf(base_path, sizeof base_path, "%s/%s", dirname(dir), base);
      remove_at(&own, b);
      rc = load_file(c, base_path, depth + 1);
      if (rc < 0) {
        char keep[2048];
        snprintf(keep, sizeof keep, "%s", gw_last_error());
        gw_set_error("%s\n  (the base of %s)", keep, path);
      }
    }
  }
  if (rc == 0) overlay(c, &own);  // this file's keys replace the base's, lists as a whole
  gw_config_free(&own);
  return rc;
}

int gw_config_load(gw_config *c, const char *path) {
  snprintf(c->path, sizeof c->path, "%s", path);
  return load_file(c, path, 0);
}

int gw_config_override(gw_config *c, const char *arg) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg) {
    gw_set_error("command line: '%s' is not key=value", arg);
    return -1;
  }
  char key[512];
  snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
  gw_config_set(c, key, eq + 1, "command line");
  return 0;
}

// ---- validation ----

// Does the config key match the schema key? Schema components "*" match any list index.
static bool key_matches(const char *schema, const char *key) {
  while (*schema && *key) {
    const char *sd = strchr(schema, '.'), *kd = strchr(key, '.');
    size_t sn = sd ? (size_t)(sd - schema) : strlen(schema), kn = kd ? (size_t)(kd - key) : strlen(key);
    bool ok = (sn == 1 && schema[0] == '*') ? numeric(key, kn) : (sn == kn && !strncmp(schema, key, sn));
    if (!ok) return false;
    if (!sd || !kd) return !sd && !kd;
    schema = sd + 1;
    key = kd + 1;
  }
  return !*schema && !*key;
}

static const gw_cfg_key *schema_key(const gw_cfg_schema *schemas, int n, const char *key) {
  for (int s = 0; s < n; s++)
    for (int k = 0; k < schemas[s].n_keys; k++)
      if (key_matches(schemas[s].keys[k].key, key)) return &schemas[s].keys[k];
  return NULL;
}

static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  if (la > 120 || lb > 120) return 999;
  int prev[121], cur[121];
  for (int j = 0; j <= lb; j++) prev[j] = j;
  for (int i = 1; i <= la; i++) {
    cur[0] = i;
    for (int j = 1; j <= lb; j++) {
      int sub = prev[j - 1] + (a[i - 1] != b[j - 1]), del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
  }
  return prev[lb];
}

// Is `abbr` the initials of the words of `name` ("lr" and "learning_rate")?
static bool initials_of(const char *abbr, const char *name) {
  char ini[32];
  int n = 0;
  for (const char *p = name; *p && n < 31; p++)
    if (p == name || p[-1] == '_') ini[n++] = *p;
  ini[n] = '\0';
  return n > 1 && !strcmp(abbr, ini);
}

static const char *did_you_mean(const gw_cfg_schema *schemas, int n, const char *key) {
  const char *best = NULL;
  int best_d = (int)strlen(key) / 3 + 2;
  for (int s = 0; s < n; s++)
    for (int k = 0; k < schemas[s].n_keys; k++) {
      int d = edit_distance(schemas[s].keys[k].key, key);
      // the same last component under another parent counts as close too
      const char *a = strrchr(schemas[s].keys[k].key, '.'), *b = strrchr(key, '.');
      if (a && b && !strcmp(a, b)) d = d < 3 ? d : 3;
      // the same parent, and one last component abbreviates the other (lr, learning_rate)
      if (a && b && a - schemas[s].keys[k].key == b - key &&
          !strncmp(schemas[s].keys[k].key, key, (size_t)(b - key)) &&
          (initials_of(a + 1, b + 1) || initials_of(b + 1, a + 1)))
        d = d < 1 ? d : 1;
      if (d < best_d) best_d = d, best = schemas[s].keys[k].key;
    }
  return best;
}

static bool parse_int(const char *v, int64_t *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || errno) return false;
  *out = x;
  return true;
}

static bool parse_float(const char *v, double *out) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (!*v || *end || errno) return false;
  *out = x;
  return true;
}

static bool parse_bool(const char *v, bool *out) {
  static const char *const yes[] = {"true", "yes", "on", "1", "True", "TRUE"};
  static const char *const no[] = {"false", "no", "off", "0", "False", "FALSE"};
  for (int i = 0; i < 6; i++) {
    if (!strcmp(v, yes[i])) return *out = true, true;
    if (!strcmp(v, no[i])) return *out = false, true;
  }
  return false;
}

static bool in_choices(const char *choices, const char *v) {
  size_t n = strlen(v);
  for (const char *p = choices; *p;) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && !strncmp(p, v, n)) return true;
    if (!bar) break;
    p = bar + 1;
  }
  return false;
}

static const char *type_name(gw_cfg_type t) {
  static const char *const names[] = {"int", "float", "bool", "string", "enum", "int list", "float list"};
  return names[t];
}

// Checks one scalar value against the key's type and range.
static int check_value(const gw_cfg_key *k, const char *key, const char *v, const char *origin) {
  int64_t i = 0;
  double x = 0.0;
  bool b;
  bool ok = true, ranged = k->min <= k->max;
  switch (k->type) {
    case GW_CFG_INT:
    case GW_CFG_INT_LIST:
      ok = parse_int(v, &i);
      x = (double)i;
      break;
    case GW_CFG_FLOAT:
    case GW_CFG_FLOAT_LIST: ok = parse_float(v, &x) && isfinite(x); break;  // no NaN, no inf
    case GW_CFG_BOOL: ok = parse_bool(v, &b); ranged = false; break;
    case GW_CFG_ENUM:
      if (!in_choices(k->choices, v)) {
        gw_set_error("%s: %s = '%s' is not one of %s", origin, key, v, k->choices);
        return -1;
      }
      return 0;
    case GW_CFG_STRING: return 0;
  }
  if (!ok) {
    gw_set_error("%s: %s = '%s' is not a%s %s (%s)", origin, key, v,
                 k->type == GW_CFG_INT || k->type == GW_CFG_INT_LIST ? "n" : "", type_name(k->type),
                 k->help);
    return -1;
  }
  if (ranged && (ok && (x < k->min || x > k->max))) {
    gw_set_error("%s: %s = %s is out of range [%g, %g] (%s)", origin, key, v, k->min, k->max, k->help);
    return -1;
  }
  return 0;
}

static bool is_list_type(gw_cfg_type t) { return t == GW_CFG_INT_LIST || t == GW_CFG_FLOAT_LIST; }

int gw_config_validate(gw_config *c, const gw_cfg_schema *schemas, int n_schemas) {
  // Gather list items ("k.0", "k.1", ...) of list-typed keys into one "k" = "a,b".
  for (int s = 0; s < n_schemas; s++)
    for (int k = 0; k < schemas[s].n_keys; k++) {
      const gw_cfg_key *sk = &schemas[s].keys[k];
      if (!is_list_type(sk->type) || strchr(sk->key, '*')) continue;
      char item[512], joined[4096] = "", origin[1200] = "";
      for (int idx = 0;; idx++) {
        snprintf(item, sizeof item, "%s.%d", sk->key, idx);
        int at = find(c, item);
        if (at < 0) break;
        size_t len = strlen(joined);
        snprintf(joined + len, sizeof joined - len, "%s%s", idx ? "," : "", c->entries[at].value);
        if (!origin[0]) snprintf(origin, sizeof origin, "%s", c->entries[at].origin);
        remove_at(c, at);
      }
      if (origin[0]) add(c, sk->key, joined, origin);
    }
  for (int i = 0; i < c->n; i++) {
    gw_cfg_entry *e = &c->entries[i];
    const gw_cfg_key *k = schema_key(schemas, n_schemas, e->key);
    if (!k) {
      const char *near = did_you_mean(schemas, n_schemas, e->key);
      gw_set_error("%s: unknown key '%s'%s%s%s. HINT: `gw train CONFIG --help-config` lists every key",
                   e->origin, e->key, near ? " (did you mean '" : "", near ? near : "",
                   near ? "'?)" : "");
      return -1;
    }
    if (is_list_type(k->type)) {
      e->is_list = true;
      char buf[4096];
      snprintf(buf, sizeof buf, "%s", e->value);
      for (char *tok = strtok(buf, ", []"); tok; tok = strtok(NULL, ", []"))
        if (check_value(k, e->key, tok, e->origin) < 0) return -1;
    } else if (check_value(k, e->key, e->value, e->origin) < 0) {
      return -1;
    }
  }
  for (int s = 0; s < n_schemas; s++)
    for (int k = 0; k < schemas[s].n_keys; k++) {
      const gw_cfg_key *sk = &schemas[s].keys[k];
      if (strchr(sk->key, '*') || find(c, sk->key) >= 0) continue;
      if (!sk->def) {
        gw_set_error("%s: the required key '%s' is missing (%s)", c->path[0] ? c->path : "config",
                     sk->key, sk->help);
        return -1;
      }
      add(c, sk->key, sk->def, "default");
      c->entries[find(c, sk->key)].is_list = is_list_type(sk->type);
    }
  return 0;
}

// ---- access ----

static const char *value_of(const gw_config *c, const char *key) {
  int i = find(c, key);
  GW_CHECK(i >= 0, "config: no value for '%s' (not declared in any schema?)", key);
  return c->entries[i].value;
}

bool gw_cfg_has(const gw_config *c, const char *key) { return find(c, key) >= 0; }

int64_t gw_cfg_int(const gw_config *c, const char *key) {
  int64_t v;
  GW_CHECK(parse_int(value_of(c, key), &v), "config: %s = '%s' is not an int", key, value_of(c, key));
  return v;
}

double gw_cfg_float(const gw_config *c, const char *key) {
  double v;
  GW_CHECK(parse_float(value_of(c, key), &v), "config: %s = '%s' is not a number", key, value_of(c, key));
  return v;
}

bool gw_cfg_bool(const gw_config *c, const char *key) {
  bool v;
  GW_CHECK(parse_bool(value_of(c, key), &v), "config: %s = '%s' is not a bool", key, value_of(c, key));
  return v;
}

const char *gw_cfg_str(const gw_config *c, const char *key) { return value_of(c, key); }

int gw_cfg_ints(const gw_config *c, const char *key, int64_t *out, int max) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", value_of(c, key));
  int n = 0;
  for (char *tok = strtok(buf, ", []"); tok && n < max; tok = strtok(NULL, ", []")) {
    GW_CHECK(parse_int(tok, &out[n]), "config: %s item '%s' is not an int", key, tok);
    n++;
  }
  return n;
}

int gw_cfg_floats(const gw_config *c, const char *key, double *out, int max) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", value_of(c, key));
  int n = 0;
  for (char *tok = strtok(buf, ", []"); tok && n < max; tok = strtok(NULL, ", []")) {
    GW_CHECK(parse_float(tok, &out[n]), "config: %s item '%s' is not a number", key, tok);
    n++;
  }
  return n;
}

// ---- output ----

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const gw_cfg_entry *)a)->key, ((const gw_cfg_entry *)b)->key);
}

// A YAML scalar, quoted when plain would change its meaning.
static void emit_scalar(char **buf, size_t *len, size_t *cap, const char *v) {
  bool quote = !v[0] || strpbrk(v, ":#{}[],&*!|>'\"%@`") || isspace((unsigned char)v[0]) ||
               isspace((unsigned char)v[strlen(v) - 1]) ||
               (strchr("-?", v[0]) && (!v[1] || isspace((unsigned char)v[1])));
  size_t need = strlen(v) * 2 + 8;
  if (*len + need >= *cap) {
    *cap = (*len + need) * 2;
    *buf = realloc(*buf, *cap);
  }
  if (!quote) {
    *len += (size_t)sprintf(*buf + *len, "%s", v);
    return;
  }
  (*buf)[(*len)++] = '"';
  for (const char *p = v; *p; p++) {
    if (*p == '"' || *p == '\\') (*buf)[(*len)++] = '\\';
    (*buf)[(*len)++] = *p;
  }
  (*buf)[(*len)++] = '"';
  (*buf)[*len] = '\0';
}

static void emit(char **buf, size_t *len, size_t *cap, const char *s) {
  size_t n = strlen(s);
  if (*len + n + 1 >= *cap) {
    *cap = (*len + n + 1) * 2;
    *buf = realloc(*buf, *cap);
  }
  memcpy(*buf + *len, s, n + 1);
  *len += n;
}

char *gw_config_to_yaml(const gw_config *c) {
  gw_cfg_entry *sorted = malloc((size_t)(c->n ? c->n : 1) * sizeof *sorted);
  memcpy(sorted, c->entries, (size_t)c->n * sizeof *sorted);
  qsort(sorted, (size_t)c->n, sizeof *sorted, cmp_entry);
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  buf[0] = '\0';
  char prev[512] = "";
  for (int i = 0; i < c->n; i++) {
    const char *key = sorted[i].key;
    // open the mappings this key needs beyond what the previous key opened
    int depth = 0;
    const char *p = key, *q = prev;
    while (true) {  // count the shared leading components
      const char *pd = strchr(p, '.'), *qd = strchr(q, '.');
      if (!pd || !qd) break;
      size_t pn = (size_t)(pd - p), qn = (size_t)(qd - q);
      if (pn != qn || strncmp(p, q, pn)) break;
      depth++;
      p = pd + 1;
      q = qd + 1;
    }
    int level = depth;
    for (const char *d = strchr(p, '.'); d; p = d + 1, d = strchr(p, '.'), level++) {
      for (int s = 0; s < level; s++) emit(&buf, &len, &cap, "  ");
      char part[256];
      snprintf(part, sizeof part, "%.*s:\n", (int)(d - p), p);
      emit(&buf, &len, &cap, part);
    }
    for (int s = 0; s < level; s++) emit(&buf, &len, &cap, "  ");
    emit(&buf, &len, &cap, p);
    emit(&buf, &len, &cap, ": ");
    if (sorted[i].is_list) {
      char item[4096];
      snprintf(item, sizeof item, "[%s]", sorted[i].value);
      emit(&buf, &len, &cap, item);
    } else {
      emit_scalar(&buf, &len, &cap, sorted[i].value);
    }
    emit(&buf, &len, &cap, "\n");
    snprintf(prev, sizeof prev, "%s", key);
  }
  free(sorted);
  return buf;
}

void gw_config_print_help(FILE *out, const gw_cfg_schema *schemas, int n_schemas) {
  for (int s = 0; s < n_schemas; s++) {
    fprintf(out, "# %s\n", schemas[s].name);
    for (int k = 0; k < schemas[s].n_keys; k++) {
      const gw_cfg_key *sk = &schemas[s].keys[k];
      char kind[160];
      if (sk->type == GW_CFG_ENUM)
        snprintf(kind, sizeof kind, "%s", sk->choices);
      else if (sk->min <= sk->max)
        snprintf(kind, sizeof kind, "%s in [%g, %g]", type_name(sk->type), sk->min, sk->max);
      else
        snprintf(kind, sizeof kind, "%s", type_name(sk->type));
      fprintf(out, "  %-32s %-28s default %-10s %s\n", sk->key, kind, sk->def ? sk->def : "(required)",
              sk->help);
    }
  }
}
