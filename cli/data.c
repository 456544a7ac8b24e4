// gw data synth|convert|check: make, import and inspect data sets.
//
//   gw data synth --preset tiny|small|full --out DIR [--seed S] [--png] [--threads N] [key=value ...]
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "datasets/sw_generate.h"
#include "groundwork.h"

// ---- knobs: key=value on the command line ----

typedef enum knob_type { K_INT, K_FLOAT, K_BOOL, K_BG, K_LEVELS, K_COUNT } knob_type;
typedef struct knob {
  const char *key;
  knob_type type;
  size_t offset;  // into sw_config, or the split index for K_COUNT
  const char *help;
} knob;

#define CFG(field) offsetof(sw_config, field)
static const knob KNOBS[] = {
    {"img_size", K_INT, CFG(img_size), "image side in pixels (32, 64, 128)"},
    {"n_obj_min", K_INT, CFG(n_obj_min), "fewest objects per image"},
    {"n_obj_max", K_INT, CFG(n_obj_max), "most objects per image"},
    {"rel_margin_px", K_FLOAT, CFG(rel_margin), "axis margin delta between any two objects"},
    {"gap_px", K_FLOAT, CFG(gap_px), "free space between objects"},
    {"nearest_ratio", K_FLOAT, CFG(nearest_ratio), "closest/farthest must win by this ratio"},
    {"min_same_shape", K_INT, CFG(min_same_shape), "objects repeating the first one's shape"},
    {"styles", K_BOOL, CFG(styles), "solid and hollow objects"},
    {"rotation", K_BOOL, CFG(rotation), "rotate shapes in 45-degree steps"},
    {"extended_shapes", K_BOOL, CFG(extended_shapes), "add pentagon and hexagon"},
    {"medium_size", K_BOOL, CFG(medium_size), "add a medium size"},
    {"bg_mode", K_BG, CFG(bg_mode), "solid, gradient, noise or texture"},
    {"bg_jitter", K_INT, CFG(bg_jitter), "background grey level jitter"},
    {"color_jitter", K_INT, CFG(color_jitter), "object colour jitter per channel"},
    {"size_jitter", K_FLOAT, CFG(size_jitter), "relative size jitter"},
    {"p_level", K_LEVELS, CFG(p_level), "level mix L0,L1,L2,L3 (e.g. 0.3,0.25,0.35,0.1)"},
    {"p_swap", K_FLOAT, CFG(p_swap), "share of images with a swap pair"},
    {"p_synonym", K_FLOAT, CFG(p_synonym), "rate of non-canonical synonyms"},
    {"p_redundant", K_FLOAT, CFG(p_redundant), "rate of one redundant attribute"},
    {"refs_per_image", K_INT, CFG(refs_per_image), "referring expressions per image"},
    {"sents_per_ref", K_INT, CFG(sents_per_ref), "paraphrases per expression (at most 4)"},
    {"captions_per_image", K_INT, CFG(captions_per_image), "captions per image (at most 5)"},
    {"questions_per_image", K_INT, CFG(questions_per_image), "VQA questions per image"},
    {"answer_noise", K_INT, CFG(answer_noise), "wrong human answers out of 10"},
    {"p_layout_twins", K_FLOAT, CFG(p_layout_twins), "share of image pairs that are layout twins"},
    {"comp_split", K_BOOL, CFG(comp_split), "shape/colour palettes for the test_comp split"},
    {"max_len", K_INT, CFG(max_len), "tokens kept per expression"},
    {"train_images", K_COUNT, SW_TRAIN, "images in train"},
    {"val_images", K_COUNT, SW_VAL, "images in val"},
    {"testA_images", K_COUNT, SW_TESTA, "images in testA"},
    {"testB_images", K_COUNT, SW_TESTB, "images in testB"},
    {"test_comp_images", K_COUNT, SW_TEST_COMP, "images in test_comp"},
    {"test_hard_images", K_COUNT, SW_TEST_HARD, "images in test_hard"},
};
enum { N_KNOBS = sizeof KNOBS / sizeof KNOBS[0] };

static int parse_bool(const char *v, bool *out) {
  if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "yes")) *out = true;
  else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "no")) *out = false;
  else return -1;
  return 0;
}

// Edit distance, for "did you mean".
static int distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b), d[64][64];
  if (la > 63 || lb > 63) return 99;
  for (int i = 0; i <= la; i++) d[i][0] = i;
  for (int j = 0; j <= lb; j++) d[0][j] = j;
  for (int i = 1; i <= la; i++)
    for (int j = 1; j <= lb; j++) {
      int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
      d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
  return d[la][lb];
}

static int set_knob(sw_gen_opts *o, const char *arg) {
  const char *eq = strchr(arg, '=');
  if (!eq) {
    fprintf(stderr, "gw data synth: '%s' is not key=value\n", arg);
    return -1;
  }
  char key[64];
  snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
  const char *v = eq + 1;
  const knob *k = NULL;
  for (int i = 0; i < N_KNOBS; i++)
    if (!strcmp(KNOBS[i].key, key)) k = &KNOBS[i];
  if (!k) {
    const char *best = NULL;
    int bd = 4;
    for (int i = 0; i < N_KNOBS; i++) {
      int d = distance(key, KNOBS[i].key);
      if (d < bd) bd = d, best = KNOBS[i].key;
    }
    fprintf(stderr, "gw data synth: unknown knob '%s'%s%s%s (gw data synth --help lists them)\n", key,
            best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
    return -1;
  }
  char *end;
  char *field = (char *)&o->cfg + k->offset;
  switch (k->type) {
    case K_INT: {
      long x = strtol(v, &end, 10);
      if (*v == '\0' || *end || x < 0) goto bad;
      *(int *)field = (int)x;
      break;
    }
    case K_FLOAT: {
      float x = strtof(v, &end);
      if (*v == '\0' || *end || x < 0) goto bad;
      *(float *)field = x;
      break;
    }
    case K_BOOL:
      if (parse_bool(v, (bool *)field) < 0) goto bad;
      break;
    case K_BG: {
      static const char *const modes[] = {"solid", "gradient", "noise", "texture"};
      int found = -1;
      for (int m = 0; m < 4; m++)
        if (!strcmp(v, modes[m])) found = m;
      if (found < 0) goto bad;
      *(int *)field = found;
      break;
    }
    case K_LEVELS: {
      float p[4];
      if (sscanf(v, "%f,%f,%f,%f", &p[0], &p[1], &p[2], &p[3]) != 4) goto bad;
      float sum = p[0] + p[1] + p[2] + p[3];
      if (sum < 0.999f || sum > 1.001f) {
        fprintf(stderr, "gw data synth: p_level must add up to 1 (got %g)\n", sum);
        return -1;
      }
      memcpy(field, p, sizeof p);
      break;
    }
    case K_COUNT: {
      long x = strtol(v, &end, 10);
      if (*v == '\0' || *end || x < 0) goto bad;
      o->preset.images[k->offset] = x;
      break;
    }
  }
  return 0;
bad:
  fprintf(stderr, "gw data synth: bad value '%s' for %s (%s)\n", v, key, k->help);
  return -1;
}

static int synth_usage(FILE *out, int rc) {
  fprintf(out,
          "usage: gw data synth --preset tiny|small|full --out DIR [--seed S] [--difficulty "
          "easy|medium|hard]\n"
          "                     [--png] [--threads N] [--quiet] [key=value ...]\n\n"
          "Generates the shapes-world data set (shared/datasets.md section 6): images, scene graphs,\n"
          "referring expressions L0-L3, captions, VQA questions and few-shot classes, in HDF5 and "
          "JSON.\n\nknobs (key=value):\n");
  for (int i = 0; i < N_KNOBS; i++) fprintf(out, "  %-20s %s\n", KNOBS[i].key, KNOBS[i].help);
  return rc;
}

static int cmd_synth(int argc, char **argv) {
  sw_gen_opts o = {0};
  const char *preset = NULL, *difficulty = "medium";
  uint64_t seed = 0;
  int threads = 0;
  int first_knob = argc;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return synth_usage(stdout, 0);
    if (!strcmp(argv[i], "--preset") && i + 1 < argc) preset = argv[++i];
    else if (!strcmp(argv[i], "--out") && i + 1 < argc) o.out_dir = argv[++i];
    else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--difficulty") && i + 1 < argc) difficulty = argv[++i];
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--png")) o.png = true;
    else if (!strcmp(argv[i], "--quiet")) o.quiet = true;
    else if (strchr(argv[i], '=')) {
      first_knob = first_knob < i ? first_knob : i;
    } else {
      fprintf(stderr, "gw data synth: unknown argument '%s'\n", argv[i]);
      return synth_usage(stderr, 2);
    }
  }
  if (!preset || !o.out_dir) {
    fprintf(stderr, "gw data synth: --preset and --out are required\n");
    return synth_usage(stderr, 2);
  }
  const sw_preset *p = sw_preset_find(preset);
  if (!p) {
    fprintf(stderr, "gw data synth: unknown preset '%s' (tiny, small, full)\n", preset);
    return 2;
  }
  o.preset = *p;
  if (sw_config_defaults(&o.cfg, difficulty, p->img_size) < 0) {
    fprintf(stderr, "gw data synth: unknown difficulty '%s' (easy, medium, hard)\n", difficulty);
    return 2;
  }
  o.difficulty = difficulty;
  o.cfg.seed = seed;
  for (int i = first_knob; i < argc; i++)
    if (strchr(argv[i], '=') && set_knob(&o, argv[i]) < 0) return 2;
  if (o.cfg.n_obj_min < 1 || o.cfg.n_obj_min > o.cfg.n_obj_max || o.cfg.n_obj_max > SW_MAX_OBJ - 4) {
    fprintf(stderr, "gw data synth: need 1 <= n_obj_min <= n_obj_max <= %d\n", SW_MAX_OBJ - 4);
    return 2;
  }
  if (o.cfg.sents_per_ref < 1 || o.cfg.sents_per_ref > SW_MAX_SENTS || o.cfg.refs_per_image > 6 ||
      o.cfg.captions_per_image > 5) {
    fprintf(stderr, "gw data synth: sents_per_ref must be 1..%d, refs_per_image at most 6, "
            "captions_per_image at most 5\n", SW_MAX_SENTS);
    return 2;
  }
  gw_init();
  if (threads > 0) gw_set_threads(threads);
  if (sw_generate(&o) < 0) {
    fprintf(stderr, "gw data synth: %s\n", gw_last_error());
    return 1;
  }
  return 0;
}

static int data_usage(FILE *out, int rc) {
  fprintf(out, "usage: gw data synth ...     generate the shapes-world data set (gw data synth --help)\n"
               "       gw data convert ...   import RefCOCO, SimREC, COCO, Karpathy, VQA or CoOp data\n"
               "                             into the same layout (gw data convert --help)\n"
               "       gw data check DIR     counts, vocabulary, box and image statistics, checksums\n");
  return rc;
}

int cmd_data(int argc, char **argv) {
  if (argc < 2) return data_usage(stderr, 2);
  if (!strcmp(argv[1], "synth")) return cmd_synth(argc - 1, argv + 1);
  if (!strcmp(argv[1], "convert")) return cmd_data_convert(argc - 1, argv + 1);
  if (!strcmp(argv[1], "check")) return cmd_data_check(argc - 1, argv + 1);
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return data_usage(stdout, 0);
  fprintf(stderr, "gw data: unknown subcommand '%s'\n", argv[1]);
  return data_usage(stderr, 2);
}
