// Configs: YAML files read into flat dotted keys, validated against schemas.
//
//   train:                       train.steps = 2000
//     steps: 2000                model.stages.0.channels = 16  (lists are addressed by index)
//   model:
//     stages: [{channels: 16}]
//
// A config may start with `base: other.yaml` (a path relative to the config): the base is read
// first and this file's keys replace its keys (a list in this file replaces the base's whole
// list). `key=value` overrides from the command line come last; overriding a key that no
// schema knows is an error, as is any unknown key in a file (with a did-you-mean), a value of
// the wrong type or out of range: each message names the file, the line and the key.
//
// Every component (trainer, data set, model) declares its keys in one table (gw_cfg_key): the
// same table validates configs, fills defaults, prints `gw train CONFIG --help-config`, and
// documents the component.
#ifndef GW_TRAIN_CONFIG_H
#define GW_TRAIN_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum gw_cfg_type {
  GW_CFG_INT,
  GW_CFG_FLOAT,
  GW_CFG_BOOL,
  GW_CFG_STRING,
  GW_CFG_ENUM,        // one of `choices` ("adam|adamw|sgd")
  GW_CFG_INT_LIST,    // a YAML list of ints, or "1,2,3" on the command line
  GW_CFG_FLOAT_LIST,
} gw_cfg_type;

typedef struct gw_cfg_key {
  const char *key;      // dotted ("train.steps")
  gw_cfg_type type;
  const char *def;      // default as text ("1000", "1e-3", "true", "adam", "16,32"); NULL: required
  double min, max;      // numeric range, checked when min <= max
  const char *choices;  // ENUM
  const char *help;
} gw_cfg_key;

typedef struct gw_cfg_schema {
  const char *name;  // "trainer", "data", "model laconvnet"
  const gw_cfg_key *keys;
  int n_keys;
} gw_cfg_schema;

typedef struct gw_cfg_entry {
  char *key;
  char *value;    // lists: items joined by ","
  char *origin;   // "configs/x.yaml:12", "command line", "default"
  bool is_list;   // set by validation for list-typed keys
} gw_cfg_entry;

typedef struct gw_config {
  gw_cfg_entry *entries;
  int n, capacity;
  char path[1024];  // the config file given
} gw_config;

void gw_config_init(gw_config *c);
void gw_config_free(gw_config *c);
// Reads a YAML file (and its bases) into c; -1 with gw_last_error() ("file:line: ...").
int gw_config_load(gw_config *c, const char *path);
// Reads YAML from a string (origin names it in messages).
int gw_config_load_string(gw_config *c, const char *yaml, const char *origin);
// Applies "key=value"; -1 if it is not of that form.
int gw_config_override(gw_config *c, const char *arg);
// Sets a key (replacing it, or its list items).
void gw_config_set(gw_config *c, const char *key, const char *value, const char *origin);
// Checks every key against the schemas and fills in the defaults; -1 with the first problem.
int gw_config_validate(gw_config *c, const gw_cfg_schema *schemas, int n_schemas);

// Typed access to validated keys (stops on a key no schema declared: a programming error).
int64_t gw_cfg_int(const gw_config *c, const char *key);
double gw_cfg_float(const gw_config *c, const char *key);
bool gw_cfg_bool(const gw_config *c, const char *key);
const char *gw_cfg_str(const gw_config *c, const char *key);
// List items into out (at most max); returns the count.
int gw_cfg_ints(const gw_config *c, const char *key, int64_t *out, int max);
int gw_cfg_floats(const gw_config *c, const char *key, double *out, int max);
bool gw_cfg_has(const gw_config *c, const char *key);

// The resolved config as YAML (nested, keys sorted): printed at start, saved in the run
// directory and in checkpoints. The caller frees the string.
char *gw_config_to_yaml(const gw_config *c);
// One line per key: name, type, default, range or choices, help.
void gw_config_print_help(FILE *out, const gw_cfg_schema *schemas, int n_schemas);

#endif
