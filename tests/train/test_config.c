// Configs (train/config.h): YAML into dotted keys, lists by index, `base:` inheritance,
// key=value overrides, validation against schemas with messages naming file, line and key,
// defaults, the resolved YAML and the --help-config listing.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models/model.h"
#include "testutil.h"
#include "train/config.h"
#include "train/schema.h"
#include "train/trainer.h"

static char tmp_dir[256];

static void cfg_setup(void) {
  gwt_setup();
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/gwt-config-XXXXXX");
  cr_assert(mkdtemp(tmp_dir), "cannot create a temporary directory");
}

static void cfg_teardown(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
  gwt_teardown();
}

TestSuite(config, .init = cfg_setup, .fini = cfg_teardown, .timeout = 30);

// A schema with every kind of key, as a model would declare it.
static const gw_cfg_key KEYS[] = {
    {"train.lr", GW_CFG_FLOAT, "1e-3", 0, 10, NULL, "base learning rate"},
    {"train.steps", GW_CFG_INT, "100", 1, 1e6, NULL, "optimizer steps"},
    {"train.optimizer", GW_CFG_ENUM, "adam", 1, 0, "adam|adamw|sgd", "optimizer"},
    {"train.ema", GW_CFG_BOOL, "false", 1, 0, NULL, "keep EMA weights"},
    {"train.note", GW_CFG_STRING, "", 1, 0, NULL, "free text"},
    {"model.name", GW_CFG_STRING, NULL, 1, 0, NULL, "the model (required)"},
    {"model.channels", GW_CFG_INT_LIST, "8,16", 1, 1024, NULL, "channels of each stage"},
    {"model.scales", GW_CFG_FLOAT_LIST, "0.5,1", 0, 4, NULL, "scales"},
    {"model.stages.*.channels", GW_CFG_INT, "16", 1, 1024, NULL, "a stage's channels"},
    {"model.stages.*.kind", GW_CFG_ENUM, "conv", 1, 0, "conv|attn", "a stage's kind"},
};
static const gw_cfg_schema SCHEMA = {"test", KEYS, sizeof KEYS / sizeof KEYS[0]};

// Writes text into tmp_dir/name (making sub-directories) and returns the path.
static const char *write_file(const char *name, const char *text) {
  static char paths[8][512];
  static int next;
  char *path = paths[next++ % 8];
  snprintf(path, 512, "%s/%s", tmp_dir, name);
  for (char *p = path + strlen(tmp_dir) + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0755);
      *p = '/';
    }
  FILE *f = fopen(path, "w");
  cr_assert(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
  return path;
}

static const gw_cfg_entry *entry(const gw_config *c, const char *key) {
  for (int i = 0; i < c->n; i++)
    if (!strcmp(c->entries[i].key, key)) return &c->entries[i];
  return NULL;
}

// Loads a file and validates it against SCHEMA; asserts both succeed.
static void load_valid(gw_config *c, const char *path) {
  gw_config_init(c);
  cr_assert_eq(gw_config_load(c, path), 0, "load %s: %s", path, gw_last_error());
  cr_assert_eq(gw_config_validate(c, &SCHEMA, 1), 0, "validate %s: %s", path, gw_last_error());
}

// Loads (and validates, when the load works) a file that must fail; returns the message.
static const char *load_error(const char *path) {
  gw_config c;
  gw_config_init(&c);
  int rc = gw_config_load(&c, path);
  if (rc == 0) rc = gw_config_validate(&c, &SCHEMA, 1);
  gw_config_free(&c);
  cr_assert_eq(rc, -1, "%s was accepted", path);
  return gw_last_error();
}

#define ASSERT_HAS(msg, part) \
  cr_assert(strstr((msg), (part)), "the message \"%s\" does not contain \"%s\"", (msg), (part))

// ---- reading ----

// Nested mappings become dotted keys, each remembering the file and line it came from.
Test(config, nested_yaml_gives_dotted_keys) {
  const char *path = write_file("a.yaml",
                                "# a comment\n"
                                "train:\n"
                                "  lr: 0.01\n"
                                "  steps: 5\n"
                                "model:\n"
                                "  name: m\n");
  gw_config c;
  load_valid(&c, path);
  cr_assert_float_eq(gw_cfg_float(&c, "train.lr"), 0.01, 1e-15);
  cr_assert_eq(gw_cfg_int(&c, "train.steps"), 5);
  cr_assert_str_eq(gw_cfg_str(&c, "model.name"), "m");
  char where[600];
  snprintf(where, sizeof where, "%s:3", path);
  cr_assert_str_eq(entry(&c, "train.lr")->origin, where);
  snprintf(where, sizeof where, "%s:6", path);
  cr_assert_str_eq(entry(&c, "model.name")->origin, where);
  gw_config_free(&c);
}

// A list of scalars is one list-typed key; a list of mappings is addressed by index
// (model.stages.1.kind), and each item is validated against the "*" schema key.
Test(config, lists_by_index) {
  const char *path = write_file("lists.yaml",
                                "model:\n"
                                "  name: m\n"
                                "  channels: [4, 8, 12]\n"
                                "  scales:\n"
                                "    - 0.25\n"
                                "    - 2\n"
                                "  stages:\n"
                                "    - {channels: 16, kind: conv}\n"
                                "    - channels: 32\n"
                                "      kind: attn\n");
  gw_config c;
  load_valid(&c, path);
  int64_t ch[8];
  cr_assert_eq(gw_cfg_ints(&c, "model.channels", ch, 8), 3);
  cr_assert(ch[0] == 4 && ch[1] == 8 && ch[2] == 12);
  double sc[4];
  cr_assert_eq(gw_cfg_floats(&c, "model.scales", sc, 4), 2);
  cr_assert(sc[0] == 0.25 && sc[1] == 2.0);
  cr_assert(entry(&c, "model.channels")->is_list);
  cr_assert_eq(gw_cfg_int(&c, "model.stages.0.channels"), 16);
  cr_assert_eq(gw_cfg_int(&c, "model.stages.1.channels"), 32);
  cr_assert_str_eq(gw_cfg_str(&c, "model.stages.1.kind"), "attn");
  cr_assert(!gw_cfg_has(&c, "model.stages.2.channels"));
  gw_config_free(&c);
  // an item is checked like any key, and the message names it by index
  path = write_file("bad_item.yaml",
                    "model:\n  name: m\n  stages:\n    - kind: conv\n    - kind: mlp\n");
  const char *msg = load_error(path);
  ASSERT_HAS(msg, "bad_item.yaml:5");
  ASSERT_HAS(msg, "model.stages.1.kind = 'mlp' is not one of conv|attn");
}

// ---- base: inheritance ----

// `base:` is read first, relative to the file that names it; the file's keys replace the base's,
// a list replaces the base's whole list (scalars and lists of mappings alike), and bases chain.
Test(config, base_inheritance) {
  write_file("configs/root.yaml", "train:\n  optimizer: sgd\n  note: from the root\n");
  const char *base = write_file("configs/base.yaml",
                                "base: root.yaml\n"
                                "train:\n"
                                "  lr: 0.1\n"
                                "  steps: 7\n"
                                "model:\n"
                                "  name: m\n"
                                "  channels: [8, 16, 32]\n"
                                "  stages:\n"
                                "    - {channels: 16, kind: attn}\n"
                                "    - {channels: 32, kind: attn}\n");
  const char *child = write_file("configs/sub/child.yaml",
                                 "base: ../base.yaml\n"
                                 "train:\n"
                                 "  lr: 0.2\n"
                                 "  note: from the child\n"
                                 "model:\n"
                                 "  channels: [4]\n"
                                 "  stages:\n"
                                 "    - channels: 64\n");
  gw_config c;
  load_valid(&c, child);
  cr_assert_float_eq(gw_cfg_float(&c, "train.lr"), 0.2, 1e-15, "the child's value wins");
  cr_assert_eq(gw_cfg_int(&c, "train.steps"), 7, "the base's value stays");
  cr_assert_str_eq(gw_cfg_str(&c, "train.optimizer"), "sgd", "the root's value stays");
  cr_assert_str_eq(gw_cfg_str(&c, "train.note"), "from the child");
  int64_t ch[8];
  cr_assert_eq(gw_cfg_ints(&c, "model.channels", ch, 8), 1, "the child's list replaces the base's");
  cr_assert_eq(ch[0], 4);
  cr_assert_eq(gw_cfg_int(&c, "model.stages.0.channels"), 64);
  cr_assert(!gw_cfg_has(&c, "model.stages.0.kind"), "the base's item is replaced as a whole");
  cr_assert(!gw_cfg_has(&c, "model.stages.1.channels"), "the base's longer list is gone");
  // a key remembers its file (the base by the path it was reached through) and line
  const char *origin = entry(&c, "train.steps")->origin;
  cr_assert(strstr(origin, "configs/sub/../base.yaml:4"), "train.steps comes from %s", origin);
  (void)base;
  gw_config_free(&c);
}

// A missing base, a problem inside a base and a cycle of bases are errors naming the files.
Test(config, base_errors) {
  const char *child = write_file("c1.yaml", "base: nowhere.yaml\nmodel:\n  name: m\n");
  const char *msg = load_error(child);
  ASSERT_HAS(msg, "nowhere.yaml: cannot open the config");
  ASSERT_HAS(msg, "(the base of ");
  write_file("b2.yaml", "train:\n  lr: 0.1\n  bogus: 1\n");
  child = write_file("c2.yaml", "base: b2.yaml\nmodel:\n  name: m\n");
  msg = load_error(child);
  ASSERT_HAS(msg, "b2.yaml:3: unknown key 'train.bogus'");
  write_file("loop1.yaml", "base: loop2.yaml\n");
  child = write_file("loop2.yaml", "base: loop1.yaml\n");
  msg = load_error(child);
  ASSERT_HAS(msg, "a cycle?");
}

// ---- overrides ----

// key=value comes last: it replaces scalars, whole lists ("1,2,3" or "[5, 6]") and single list
// items; its origin is the command line, and a key no schema knows is an error.
Test(config, overrides) {
  const char *path = write_file("o.yaml",
                                "train:\n  lr: 0.1\nmodel:\n  name: m\n  channels: [8, 16, 32]\n"
                                "  stages:\n    - {channels: 16}\n");
  gw_config c;
  gw_config_init(&c);
  cr_assert_eq(gw_config_load(&c, path), 0, "%s", gw_last_error());
  cr_assert_eq(gw_config_override(&c, "train.lr=0.5"), 0);
  cr_assert_eq(gw_config_override(&c, "model.scales=[0.5, 1.5, 3]"), 0);
  cr_assert_eq(gw_config_override(&c, "model.channels.1=64"), 0);
  cr_assert_eq(gw_config_override(&c, "model.stages.0.channels=99"), 0);
  cr_assert_eq(gw_config_override(&c, "train.note=a=b"), 0, "only the first '=' splits");
  cr_assert_eq(gw_config_validate(&c, &SCHEMA, 1), 0, "%s", gw_last_error());
  cr_assert_float_eq(gw_cfg_float(&c, "train.lr"), 0.5, 1e-15);
  cr_assert_str_eq(entry(&c, "train.lr")->origin, "command line");
  int64_t ch[8];
  cr_assert_eq(gw_cfg_ints(&c, "model.channels", ch, 8), 3);
  cr_assert(ch[0] == 8 && ch[1] == 64 && ch[2] == 32, "one item replaced: %lld %lld %lld",
            (long long)ch[0], (long long)ch[1], (long long)ch[2]);
  double sc[4];
  cr_assert_eq(gw_cfg_floats(&c, "model.scales", sc, 4), 3);
  cr_assert(sc[0] == 0.5 && sc[1] == 1.5 && sc[2] == 3.0);
  cr_assert_eq(gw_cfg_int(&c, "model.stages.0.channels"), 99);
  cr_assert_str_eq(gw_cfg_str(&c, "train.note"), "a=b");
  gw_config_free(&c);

  // a whole list as "1,2,3" replaces every item of the file's list
  gw_config_init(&c);
  cr_assert_eq(gw_config_load(&c, path), 0);
  cr_assert_eq(gw_config_override(&c, "model.channels=1,2"), 0);
  cr_assert_eq(gw_config_validate(&c, &SCHEMA, 1), 0, "%s", gw_last_error());
  cr_assert_eq(gw_cfg_ints(&c, "model.channels", ch, 8), 2);
  cr_assert(ch[0] == 1 && ch[1] == 2);
  cr_assert_str_eq(gw_cfg_str(&c, "model.channels"), "1,2");
  gw_config_free(&c);

  // not key=value; an unknown key; a value out of range
  gw_config_init(&c);
  cr_assert_eq(gw_config_override(&c, "train.lr"), -1);
  ASSERT_HAS(gw_last_error(), "'train.lr' is not key=value");
  cr_assert_eq(gw_config_override(&c, "=3"), -1);
  cr_assert_eq(gw_config_override(&c, "model.name=m"), 0);
  cr_assert_eq(gw_config_override(&c, "train.learning_rate=3"), 0);
  cr_assert_eq(gw_config_validate(&c, &SCHEMA, 1), -1);
  ASSERT_HAS(gw_last_error(), "command line: unknown key 'train.learning_rate'");
  gw_config_free(&c);
  gw_config_init(&c);
  cr_assert_eq(gw_config_override(&c, "model.name=m"), 0);
  cr_assert_eq(gw_config_override(&c, "model.channels=8,0"), 0);
  cr_assert_eq(gw_config_validate(&c, &SCHEMA, 1), -1);
  ASSERT_HAS(gw_last_error(), "command line: model.channels = 0 is out of range [1, 1024]");
  gw_config_free(&c);
}

// ---- errors, each naming the file, the line and the key ----

// The same key twice is an error at the second one, for a value and for a whole section.
Test(config, duplicate_keys) {
  const char *msg = load_error(write_file("dup.yaml", "train:\n  lr: 1\n  steps: 3\n  lr: 2\n"));
  ASSERT_HAS(msg, "dup.yaml:4: the key 'train.lr' appears twice");
  msg = load_error(
      write_file("dup2.yaml", "train:\n  lr: 1\nmodel:\n  name: m\ntrain:\n  steps: 2\n"));
  ASSERT_HAS(msg, "dup2.yaml:5: the key 'train' appears twice");
  msg = load_error(write_file("dup3.yaml", "model: 3\nmodel:\n  name: m\n"));
  ASSERT_HAS(msg, "dup3.yaml:2: the key 'model' appears twice");
}

// A YAML syntax error names the file and the line libyaml stopped at.
Test(config, yaml_syntax_error) {
  const char *msg = load_error(write_file("syn.yaml",
                                          "train:\n"
                                          "  lr: 1\n"
                                          "  steps: [1, 2\n"
                                          "model:\n"
                                          "  name: m\n"));
  ASSERT_HAS(msg, "syn.yaml:4: ");
  msg = load_error(write_file("indent.yaml", "train:\n  lr: 1\n steps: 2\n"));
  ASSERT_HAS(msg, "indent.yaml:3: ");
  msg = load_error(write_file("tab.yaml", "train:\n\tlr: 1\n"));
  ASSERT_HAS(msg, "tab.yaml:2: ");
  msg = load_error(write_file("list.yaml", "- a\n- b\n"));
  ASSERT_HAS(msg, "list.yaml:1: the config must be a mapping");
  msg = load_error(write_file("dots.yaml", "train.lr: 1\n"));
  ASSERT_HAS(msg, "dots.yaml:1: 'train.lr' is not a valid key");
  msg = load_error(write_file("alias.yaml", "a: &x 1\nb: *x\n"));
  ASSERT_HAS(msg, "alias.yaml:2: YAML aliases are not supported");
}

// An unknown key names file:line and suggests the nearest declared key (the example of
// docs/training.md: train.learning_rate -> train.lr).
Test(config, unknown_key_did_you_mean) {
  const char *msg =
      load_error(write_file("u1.yaml", "model:\n  name: m\ntrain:\n  learning_rate: 0.1\n"));
  ASSERT_HAS(msg, "u1.yaml:4: unknown key 'train.learning_rate' (did you mean 'train.lr'?)");
  ASSERT_HAS(msg, "--help-config");
  msg = load_error(write_file("u2.yaml", "model:\n  name: m\ntrain:\n  stpes: 3\n"));
  ASSERT_HAS(msg, "u2.yaml:4: unknown key 'train.stpes' (did you mean 'train.steps'?)");
  msg = load_error(write_file("u3.yaml", "model:\n  name: m\n  optimizer: sgd\n"));
  ASSERT_HAS(msg, "u3.yaml:3: unknown key 'model.optimizer' (did you mean 'train.optimizer'?)");
  msg = load_error(write_file("u4.yaml", "model:\n  name: m\nfoo:\n  bar_baz_qux: 1\n"));
  ASSERT_HAS(msg, "u4.yaml:4: unknown key 'foo.bar_baz_qux'");
  cr_assert(!strstr(msg, "did you mean"), "no suggestion for a key close to none: %s", msg);
  // the real trainer schema, as `gw train` sees it
  gw_config c;
  const gw_model_ops *ops;
  const char *path =
      write_file("u5.yaml", "model:\n  name: small_cnn\ntrain:\n  learning_rate: 0.1\n");
  cr_assert_eq(gw_train_load_config(&c, path, 0, NULL, &ops), -1);
  ASSERT_HAS(gw_last_error(),
             "u5.yaml:4: unknown key 'train.learning_rate' (did you mean 'train.lr'?)");
  gw_config_free(&c);
}

// A value of the wrong type is an error naming file:line, the key and the value.
Test(config, wrong_type) {
  const char *msg = load_error(write_file("t1.yaml", "model:\n  name: m\ntrain:\n  steps: many\n"));
  ASSERT_HAS(msg, "t1.yaml:4: train.steps = 'many' is not an int");
  msg = load_error(write_file("t2.yaml", "model:\n  name: m\ntrain:\n  steps: 1.5\n"));
  ASSERT_HAS(msg, "train.steps = '1.5' is not an int");
  msg = load_error(write_file("t3.yaml", "model:\n  name: m\ntrain:\n  lr: fast\n"));
  ASSERT_HAS(msg, "t3.yaml:4: train.lr = 'fast' is not a float");
  msg = load_error(write_file("t4.yaml", "model:\n  name: m\ntrain:\n  ema: maybe\n"));
  ASSERT_HAS(msg, "t4.yaml:4: train.ema = 'maybe' is not a bool");
  msg = load_error(write_file("t5.yaml", "model:\n  name: m\n  channels: [8, x]\n"));
  ASSERT_HAS(msg, "t5.yaml:3: model.channels = 'x' is not an int");
}

// A number outside the key's range is an error, and so is NaN or infinity.
Test(config, out_of_range) {
  const char *msg = load_error(write_file("r1.yaml", "model:\n  name: m\ntrain:\n  lr: 20\n"));
  ASSERT_HAS(msg, "r1.yaml:4: train.lr = 20 is out of range [0, 10]");
  msg = load_error(write_file("r2.yaml", "model:\n  name: m\ntrain:\n  steps: 0\n"));
  ASSERT_HAS(msg, "train.steps = 0 is out of range [1, 1e+06]");
  msg = load_error(write_file("r3.yaml", "model:\n  name: m\n  scales: [1, 5]\n"));
  ASSERT_HAS(msg, "model.scales = 5 is out of range [0, 4]");
  msg = load_error(write_file("r4.yaml", "model:\n  name: m\ntrain:\n  lr: nan\n"));
  ASSERT_HAS(msg, "r4.yaml:4: train.lr = 'nan'");
  msg = load_error(write_file("r5.yaml", "model:\n  name: m\ntrain:\n  lr: inf\n"));
  ASSERT_HAS(msg, "r5.yaml:4: train.lr = 'inf'");
}

// An enum accepts its choices only, and the message lists them.
Test(config, enum_choices) {
  const char *msg =
      load_error(write_file("e.yaml", "model:\n  name: m\ntrain:\n  optimizer: adamx\n"));
  ASSERT_HAS(msg, "e.yaml:4: train.optimizer = 'adamx' is not one of adam|adamw|sgd");
  gw_config c;
  load_valid(&c, write_file("e2.yaml", "model:\n  name: m\ntrain:\n  optimizer: adamw\n"));
  cr_assert_str_eq(gw_cfg_str(&c, "train.optimizer"), "adamw");
  gw_config_free(&c);
}

// A key without a default must be given.
Test(config, required_keys) {
  const char *msg = load_error(write_file("req.yaml", "train:\n  lr: 0.1\n"));
  ASSERT_HAS(msg, "req.yaml: the required key 'model.name' is missing (the model (required))");
}

// Validation fills in every default (origin "default"), lists included; "*" keys have no
// instances to fill.
Test(config, defaults_filled) {
  gw_config c;
  load_valid(&c, write_file("d.yaml", "model:\n  name: m\n"));
  cr_assert_float_eq(gw_cfg_float(&c, "train.lr"), 1e-3, 1e-18);
  cr_assert_eq(gw_cfg_int(&c, "train.steps"), 100);
  cr_assert_str_eq(gw_cfg_str(&c, "train.optimizer"), "adam");
  cr_assert(!gw_cfg_bool(&c, "train.ema"));
  cr_assert_str_eq(gw_cfg_str(&c, "train.note"), "");
  int64_t ch[4];
  cr_assert_eq(gw_cfg_ints(&c, "model.channels", ch, 4), 2);
  cr_assert(ch[0] == 8 && ch[1] == 16);
  cr_assert(entry(&c, "model.channels")->is_list);
  cr_assert_str_eq(entry(&c, "train.steps")->origin, "default");
  cr_assert(!gw_cfg_has(&c, "model.stages.0.channels"));
  cr_assert_eq(c.n, 8, "8 keys: the 7 with defaults and model.name (got %d)", c.n);
  gw_config_free(&c);
}

// ---- output ----

// The resolved YAML reads back into the same keys and values: strings that YAML would read
// differently are quoted, lists come back as lists, lists of mappings by index.
Test(config, to_yaml_round_trip) {
  gw_config c;
  gw_config_init(&c);
  cr_assert_eq(gw_config_load(&c, write_file("rt.yaml",
                                             "model:\n"
                                             "  name: 'a: b # not a comment'\n"
                                             "  channels: [3, 5]\n"
                                             "  stages:\n"
                                             "    - {channels: 7, kind: attn}\n"
                                             "    - {channels: 9}\n"
                                             "train:\n"
                                             "  lr: 1e-3\n"
                                             "  ema: yes\n")),
               0, "%s", gw_last_error());
  // clang-format off
  static const char *const notes[] = {"", " padded ", "- dash", "[x]", "{y}", "quote \" and \\",
                                      "it's", "true", "~", "null", "@at", "%pct", "x,y", "?q", "!t",
                                      "&a", "*b", "|p", ">f", "#h", "1e5", "multi word note"};
  // clang-format on
  for (size_t k = 0; k < sizeof notes / sizeof notes[0]; k++) {
    gw_config_set(&c, "train.note", notes[k], "test");
    cr_assert_eq(gw_config_validate(&c, &SCHEMA, 1), 0, "%s", gw_last_error());
    char *yaml = gw_config_to_yaml(&c);
    gw_config back;
    gw_config_init(&back);
    cr_assert_eq(gw_config_load_string(&back, yaml, "resolved"), 0,
                 "the YAML for note \"%s\" does not read back: %s\n%s", notes[k], gw_last_error(),
                 yaml);
    cr_assert_eq(gw_config_validate(&back, &SCHEMA, 1), 0, "%s", gw_last_error());
    cr_assert_eq(back.n, c.n, "%d keys came back, %d went out\n%s", back.n, c.n, yaml);
    for (int i = 0; i < c.n; i++) {
      const gw_cfg_entry *e = entry(&back, c.entries[i].key);
      cr_assert(e, "'%s' did not come back\n%s", c.entries[i].key, yaml);
      cr_assert_str_eq(e->value, c.entries[i].value, "'%s': '%s' came back as '%s'\n%s",
                       c.entries[i].key, c.entries[i].value, e->value, yaml);
      cr_assert_eq(e->is_list, c.entries[i].is_list, "'%s' list-ness", c.entries[i].key);
    }
    if (k == 0) {  // nested, sorted, and a list in flow style
      cr_assert(strstr(yaml, "model:\n  channels: [3,5]\n"), "%s", yaml);
      cr_assert(strstr(yaml, "train:\n  ema: yes\n  lr: 1e-3\n"), "%s", yaml);
    }
    free(yaml);
    gw_config_free(&back);
  }
  gw_config_free(&c);
}

// --help-config: every key of every schema, with its type (or choices), range, default and help.
Test(config, help_lists_every_key) {
  const gw_model_ops *cnn = gw_model_find("small_cnn");
  cr_assert(cnn);
  gw_cfg_schema schemas[4] = {gw_trainer_schema, gw_data_schema, cnn->schema, SCHEMA};
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  gw_config_print_help(f, schemas, 4);
  fclose(f);
  static const char *const types[] = {"int", "float",    "bool",      "string",
                                      NULL,  "int list", "float list"};
  int keys = 0;
  for (int s = 0; s < 4; s++) {
    char title[100];
    snprintf(title, sizeof title, "# %s\n", schemas[s].name);
    ASSERT_HAS(text, title);
    const char *section = strstr(text, title) + strlen(title) - 1;  // keys are listed under it
    for (int k = 0; k < schemas[s].n_keys; k++, keys++) {
      const gw_cfg_key *key = &schemas[s].keys[k];
      // the key's line: it starts with two spaces and the key
      char start[200];
      snprintf(start, sizeof start, "\n  %s ", key->key);
      const char *line = strstr(section, start);
      cr_assert(line, "no line for %s in\n%s", key->key, text);
      line++;
      char one[600];
      snprintf(one, sizeof one, "%.*s", (int)strcspn(line, "\n"), line);
      ASSERT_HAS(one, key->help);
      ASSERT_HAS(one, key->type == GW_CFG_ENUM ? key->choices : types[key->type]);
      char def[200];
      snprintf(def, sizeof def, "default %s", key->def ? key->def : "(required)");
      ASSERT_HAS(one, def);
      if (key->type != GW_CFG_ENUM && key->min <= key->max) {
        char range[100];
        snprintf(range, sizeof range, "in [%g, %g]", key->min, key->max);
        ASSERT_HAS(one, range);
      }
    }
  }
  cr_assert_gt(keys, 40);
  free(text);
}

// Every config shipped in configs/ (the training configs; configs/ablations/ holds grids for
// gw ablate) is valid as it stands: its keys, types, ranges and its model's schema.
Test(config, shipped_configs_validate) {
  DIR *dir = opendir("configs");
  cr_assert(dir, "configs/ not found from %s", getcwd(NULL, 0));
  int checked = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".yaml")) continue;
    char path[600];
    snprintf(path, sizeof path, "configs/%s", e->d_name);
    gw_config c;
    const gw_model_ops *ops;
    cr_assert_eq(gw_train_load_config(&c, path, 0, NULL, &ops), 0, "%s: %s", path, gw_last_error());
    gw_config_free(&c);
    checked++;
  }
  closedir(dir);
  cr_assert_geq(checked, 8, "only %d configs in configs/", checked);
}
