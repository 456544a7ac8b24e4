// gw ablate GRID.yaml [--out DIR] [--dry-run]: a base config under a grid of overrides, each
// setting over several seeds, summarised in RESULT.md and RESULT.csv.
//
//   config: ../small_cnn.yaml          # the config every run starts from (relative to GRID)
//   seeds: [1, 2]                      # train.seed of each repetition
//   common: ["train.steps=200"]        # overrides for every run
//   grid:                              # the settings: every combination of one choice per axis
//     - ["model.channels=8,16", "model.channels=16,32,32"]
//     - ["train.lr=1e-3", "train.lr=3e-3"]
//   settings:                          # or (and) settings listed by hand, each with a name
//     - name: no_bn
//       set: ["model.channels=16"]
//   out: runs/ablate-small_cnn         # default: runs/<grid file name>
//
// Each run is a separate `gw train` process in OUT/<setting>/seed<N>; finished runs (with
// their metrics file) are skipped and an interrupted run of the same config is resumed, so an
// interrupted ablation continues where it stopped. RESULT.md and RESULT.csv have one row per
// setting: the mean +- sample std over seeds of each final metric (of the config's first eval
// split), the trainable parameter count and the mean training step time.
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "eval/metrics.h"
#include "tensor/error.h"
#include "tensor/h5io.h"
#include "train/config.h"
#include "train/trainer.h"

enum { MAX_SETTINGS = 256, MAX_SET = 16, MAX_SEEDS = 16, MAX_AXES = 8 };

typedef struct setting {
  char name[256];
  int n;
  char set[MAX_SET][256];
} setting;

// The values of list key "<key>.<i>" (and "<key>.<i>.<j>" for nested lists) from a raw config.
static const char *raw(const gw_config *c, const char *key) {
  for (int i = 0; i < c->n; i++)
    if (!strcmp(c->entries[i].key, key)) return c->entries[i].value;
  return NULL;
}

static int count_items(const gw_config *c, const char *prefix) {
  int n = 0;
  char key[512];
  for (;; n++) {
    snprintf(key, sizeof key, "%s.%d", prefix, n);
    bool found = false;
    size_t len = strlen(key);
    for (int i = 0; i < c->n && !found; i++)
      found = !strncmp(c->entries[i].key, key, len) && (c->entries[i].key[len] == '\0' || c->entries[i].key[len] == '.');
    if (!found) return n;
  }
}

// Settings: every combination of the grid's axes, then the named ones.
static int build_settings(const gw_config *c, setting *out) {
  int n = 0, axes = count_items(c, "grid");
  if (axes > MAX_AXES) axes = MAX_AXES;
  int sizes[MAX_AXES];
  long total = axes ? 1 : 0;
  for (int a = 0; a < axes; a++) {
    char key[64];
    snprintf(key, sizeof key, "grid.%d", a);
    sizes[a] = count_items(c, key);
    total *= sizes[a];
  }
  for (long combo = 0; combo < total && n < MAX_SETTINGS; combo++) {
    setting *s = &out[n++];
    memset(s, 0, sizeof *s);
    long rest = combo;
    for (int a = 0; a < axes; a++) {
      int pick = (int)(rest % sizes[a]);
      rest /= sizes[a];
      char key[64];
      snprintf(key, sizeof key, "grid.%d.%d", a, pick);
      snprintf(s->set[s->n++], sizeof s->set[0], "%s", raw(c, key));
    }
  }
  int named = count_items(c, "settings");
  for (int k = 0; k < named && n < MAX_SETTINGS; k++) {
    setting *s = &out[n++];
    memset(s, 0, sizeof *s);
    char key[64];
    snprintf(key, sizeof key, "settings.%d.name", k);
    const char *name = raw(c, key);
    snprintf(s->name, sizeof s->name, "%s", name ? name : "");
    snprintf(key, sizeof key, "settings.%d.set", k);
    int m = count_items(c, key);
    for (int j = 0; j < m && s->n < MAX_SET; j++) {
      char item[96];
      snprintf(item, sizeof item, "%s.%d", key, j);
      snprintf(s->set[s->n++], sizeof s->set[0], "%s", raw(c, item));
    }
  }
  for (int k = 0; k < n; k++) {  // a name from the overrides when none was given
    setting *s = &out[k];
    if (s->name[0]) continue;
    size_t len = 0;
    for (int j = 0; j < s->n; j++) {
      const char *eq = strchr(s->set[j], '=');
      // the key's last part names it ("model.alpha=0.5" -> alpha-0.5): a dot of the value is
      // not the key's
      const char *key = s->set[j];
      for (const char *p = key; *p && (!eq || p < eq); p++)
        if (*p == '.') key = p + 1;
      len += (size_t)snprintf(s->name + len, sizeof s->name - len, "%s%.*s-%s", j ? "_" : "",
                              (int)(eq ? eq - key : (long)strlen(key)), key, eq ? eq + 1 : "");
      if (len >= sizeof s->name) len = sizeof s->name - 1;
    }
    if (!s->n) snprintf(s->name, sizeof s->name, "base");
    for (char *p = s->name; *p; p++)
      if (*p == '/' || *p == ' ' || *p == ',') *p = ':';
  }
  return n;
}

static bool exists(const char *p) { return access(p, F_OK) == 0; }

// The overrides of one run: the common ones, the setting's, then its seed.
static int run_overrides(const setting *s, int n_common, char common[][256], char *seed_arg,
                         char **out) {
  int n = 0;
  for (int i = 0; i < n_common && n < 48; i++) out[n++] = common[i];
  for (int i = 0; i < s->n && n < 62; i++) out[n++] = (char *)s->set[i];
  out[n++] = seed_arg;
  return n;
}

// Does dir hold an unfinished run of exactly this config (with a checkpoint to resume from)?
static bool resumable(const char *base, const char *dir, int n_over, char **over) {
  char path[1500];
  snprintf(path, sizeof path, "%s/ckpt", dir);
  DIR *d = opendir(path);
  bool has_ckpt = false;
  for (struct dirent *e; d && (e = readdir(d));) has_ckpt |= !strncmp(e->d_name, "step_", 5);
  if (d) closedir(d);
  if (!has_ckpt) return false;
  gw_config cfg;
  const gw_model_ops *ops;
  if (gw_train_load_config(&cfg, base, n_over, over, &ops) < 0) {
    gw_config_free(&cfg);
    return false;
  }
  char *want = gw_config_to_yaml(&cfg);
  gw_config_free(&cfg);
  snprintf(path, sizeof path, "%s/config.yaml", dir);
  FILE *f = fopen(path, "r");
  char *have = NULL;
  size_t cap = 0;
  if (f) {
    if (getdelim(&have, &cap, '\0', f) < 0) have[0] = '\0';
    fclose(f);
  }
  bool same = have && !strcmp(have, want);
  free(have);
  free(want);
  return same;
}

// Runs one `gw train` (or `gw train --resume` of an interrupted run); returns its exit status.
static int run_train(const char *base, const char *dir, const setting *s, int n_common,
                     char common[][256], long seed) {
  char seed_arg[64];
  snprintf(seed_arg, sizeof seed_arg, "train.seed=%ld", seed);
  char *over[64];
  int n_over = run_overrides(s, n_common, common, seed_arg, over);
  const char *argv[80];
  int argc = 0;
  argv[argc++] = "/proc/self/exe";
  argv[argc++] = "train";
  if (resumable(base, dir, n_over, over)) {
    printf("    (continuing the interrupted run)\n");
    fflush(stdout);
    argv[argc++] = "--resume";
    argv[argc++] = dir;
    argv[argc++] = "--quiet";
  } else {
    argv[argc++] = base;
    argv[argc++] = "--out";
    argv[argc++] = dir;
    argv[argc++] = "--quiet";
    argv[argc++] = "--force";  // a run of another config there is kept aside, not overwritten
    for (int i = 0; i < n_over; i++) argv[argc++] = over[i];
  }
  argv[argc] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    execv("/proc/self/exe", (char *const *)argv);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

enum { MAX_EVALS = 256 };

// The final metrics of a run (its first metrics-*.json), its mean step time, and the learning
// curve of its main metric against training time (the evaluations during training, from
// metrics.jsonl, timed by the seconds log.csv gives each step: evaluation time not counted).
typedef struct result {
  int n;
  char name[40][32];
  double value[40];
  double step_seconds, train_seconds;
  int n_evals;
  double eval_seconds[MAX_EVALS], eval_value[MAX_EVALS];
  int64_t eval_step[MAX_EVALS];
  char curve_metric[32];
} result;

// The metric a task is judged by, among those a metrics row has (NULL: none).
static const char *main_metric_of(json_t *row) {
  static const char *const mains[] = {"acc@0.5", "vqa_acc", "i2t_r@1", "top1"};
  for (int k = 0; k < 4; k++)
    if (json_is_number(json_object_get(row, mains[k]))) return mains[k];
  return NULL;
}

// The evaluations of split during training: main metric at the training seconds of its step.
static void read_curve(const char *dir, const char *split, const double *cum, int64_t n_steps,
                       result *r) {
  char path[1200], line[8192];
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  FILE *f = fopen(path, "r");
  if (!f) return;
  while (fgets(line, sizeof line, f) && r->n_evals < MAX_EVALS) {
    json_t *row = json_loads(line, 0, NULL);
    const char *metric = row ? main_metric_of(row) : NULL;
    int64_t step = json_integer_value(json_object_get(row, "step"));
    const char *row_split = json_string_value(json_object_get(row, "split"));
    if (metric && row_split && !strcmp(row_split, split) && step >= 0 && step <= n_steps) {
      snprintf(r->curve_metric, sizeof r->curve_metric, "%s", metric);
      r->eval_seconds[r->n_evals] = cum[step];
      r->eval_step[r->n_evals] = step;
      r->eval_value[r->n_evals++] = json_number_value(json_object_get(row, metric));
    }
    json_decref(row);
  }
  fclose(f);
}

static int read_result(const char *dir, result *r) {
  memset(r, 0, sizeof *r);
  char path[1200];
  snprintf(path, sizeof path, "%s/config.yaml", dir);
  gw_config cfg;
  gw_config_init(&cfg);
  if (gw_config_load(&cfg, path) < 0) return -1;
  const char *splits = raw(&cfg, "data.eval_splits");
  char split[64];
  snprintf(split, sizeof split, "%s", splits ? splits : "val");
  split[strcspn(split, ", ")] = '\0';
  gw_config_free(&cfg);
  snprintf(path, sizeof path, "%s/metrics-%s.json", dir, split);
  json_t *m = json_load_file(path, 0, NULL);
  if (!m) return -1;
  const char *key;
  json_t *v;
  json_object_foreach(m, key, v) {
    if (!json_is_number(v) || r->n >= 40 || !strcmp(key, "step") || !strcmp(key, "samples")) continue;
    snprintf(r->name[r->n], sizeof r->name[0], "%s", key);
    r->value[r->n++] = json_number_value(v);
  }
  json_decref(m);
  // log.csv: step, ..., seconds (the last column); cum[k] = training seconds up to step k
  snprintf(path, sizeof path, "%s/log.csv", dir);
  FILE *f = fopen(path, "r");
  double *cum = calloc(1, sizeof *cum);
  int64_t n_steps = 0;
  if (f) {
    char line[1024];
    while (fgets(line, sizeof line, f)) {
      char *last = strrchr(line, ',');
      double sec;
      long long step;
      if (!last || sscanf(last + 1, "%lf", &sec) != 1 || sscanf(line, "%lld,", &step) != 1 ||
          step != n_steps + 1)
        continue;
      cum = realloc(cum, (size_t)(step + 1) * sizeof *cum);
      cum[step] = cum[n_steps] + sec;
      n_steps = step;
    }
    fclose(f);
  }
  r->train_seconds = cum[n_steps];
  r->step_seconds = n_steps ? cum[n_steps] / (double)n_steps : 0.0;
  read_curve(dir, split, cum, n_steps, r);
  free(cum);
  return 0;
}

// A run's main metric at the last evaluation within `seconds` of training (NAN: none so early),
// and the step of that evaluation (step may be NULL).
static double value_within(const result *r, double seconds, int64_t *step) {
  double v = NAN;
  for (int i = 0; i < r->n_evals; i++)
    if (r->eval_seconds[i] <= seconds) {
      v = r->eval_value[i];
      if (step) *step = r->eval_step[i];
    }
  return v;
}

static long param_count(const char *dir) {
  char path[1200], cmd[1400];
  snprintf(path, sizeof path, "%s/ckpt/best.h5", dir);
  gw_h5 *f = gw_h5_open(path);
  if (f) {  // recorded by the trainer
    int64_t n;
    int rc = gw_h5_get_attr_i64(f, "", "param_count", &n);
    gw_h5_close(f);
    if (rc == 0) return (long)n;
  }
  // older checkpoints: count the tensors `gw info` lists
  snprintf(cmd, sizeof cmd, "/proc/%d/exe info '%s'", (int)getpid(), path);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  char line[512], name[256];
  long total = 0;
  bool in_params = false;
  while (fgets(line, sizeof line, p)) {
    if (!strncmp(line, "params:", 7)) in_params = true;
    else if (!strncmp(line, "ema:", 4)) in_params = false;
    // a tensor line "  NAME  (d0, d1, ...)"; batch-norm statistics are buffers, not parameters
    char *shape = strchr(line, '(');
    if (!in_params || !shape || sscanf(line, " %255s", name) != 1 || name[0] == '(' ||
        strstr(name, "running_") || strstr(name, "num_batches"))
      continue;
    long n = 1;
    char *q = shape + 1, *end;
    for (long d; (d = strtol(q, &end, 10)), end != q; q = end + (*end == ',')) n *= d;
    total += n;
  }
  pclose(p);
  return total;
}

int cmd_ablate(int argc, char **argv) {
  const char *grid = NULL, *out = NULL;
  bool dry = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: gw ablate GRID.yaml [--out DIR] [--dry-run]\n"
             "Runs the base config under every setting of the grid, over its seeds, and writes\n"
             "RESULT.md and RESULT.csv (mean +- std of each metric, parameters, step time).\n"
             "Finished runs are skipped: rerunning continues an interrupted ablation.\n");
      return 0;
    }
    if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "--dry-run")) dry = true;
    else if (!grid) grid = argv[i];
    else {
      fprintf(stderr, "gw ablate: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (!grid) {
    fprintf(stderr, "usage: gw ablate GRID.yaml [--out DIR] [--dry-run]\n");
    return 2;
  }
  gw_config c;
  gw_config_init(&c);
  if (gw_config_load(&c, grid) < 0) {
    fprintf(stderr, "gw ablate: %s\n", gw_last_error());
    return 1;
  }
  const char *base_rel = raw(&c, "config");
  if (!base_rel) {
    fprintf(stderr, "gw ablate: %s: `config:` (the config every run starts from) is missing\n", grid);
    return 1;
  }
  char base[1200], gdir[1024];
  snprintf(gdir, sizeof gdir, "%s", grid);
  snprintf(base, sizeof base, "%s%s%s", base_rel[0] == '/' ? "" : dirname(gdir), base_rel[0] == '/' ? "" : "/", base_rel);
  int n_seeds = count_items(&c, "seeds");
  long seeds[MAX_SEEDS];
  for (int k = 0; k < n_seeds && k < MAX_SEEDS; k++) {
    char key[32];
    snprintf(key, sizeof key, "seeds.%d", k);
    seeds[k] = atol(raw(&c, key));
  }
  if (n_seeds == 0) seeds[n_seeds++] = 1;
  if (n_seeds > MAX_SEEDS) n_seeds = MAX_SEEDS;
  int n_common = count_items(&c, "common");
  static char common[32][256];
  for (int k = 0; k < n_common && k < 32; k++) {
    char key[32];
    snprintf(key, sizeof key, "common.%d", k);
    snprintf(common[k], sizeof common[k], "%s", raw(&c, key));
  }
  static setting settings[MAX_SETTINGS];
  int n_settings = build_settings(&c, settings);
  if (n_settings == 0) settings[n_settings++] = (setting){.name = "base"};
  char out_dir[1024];
  if (out) snprintf(out_dir, sizeof out_dir, "%s", out);
  else if (raw(&c, "out")) snprintf(out_dir, sizeof out_dir, "%s", raw(&c, "out"));
  else {
    const char *b = strrchr(grid, '/');
    b = b ? b + 1 : grid;
    snprintf(out_dir, sizeof out_dir, "runs/ablate-%.*s", (int)strcspn(b, "."), b);
  }
  printf("ablation %s: %d settings x %d seeds from %s into %s\n", grid, n_settings, n_seeds, base, out_dir);
  int failed = 0;
  for (int s = 0; s < n_settings; s++)
    for (int k = 0; k < n_seeds; k++) {
      char dir[1400], done[1500];
      snprintf(dir, sizeof dir, "%s/%s/seed%ld", out_dir, settings[s].name, seeds[k]);
      result r;
      snprintf(done, sizeof done, "%s/config.yaml", dir);
      if (exists(done) && read_result(dir, &r) == 0) {
        printf("  %-40s seed %ld: done before, skipped\n", settings[s].name, seeds[k]);
        continue;
      }
      printf("  %-40s seed %ld:", settings[s].name, seeds[k]);
      for (int j = 0; j < settings[s].n; j++) printf(" %s", settings[s].set[j]);
      printf("\n");
      fflush(stdout);
      if (dry) continue;
      int rc = run_train(base, dir, &settings[s], n_common, common, seeds[k]);
      if (rc != 0) {
        fprintf(stderr, "gw ablate: the run in %s failed (exit %d); see its log\n", dir, rc);
        failed++;
      }
    }
  if (dry) return 0;
  // the table: one row per setting, mean +- std over seeds of each metric
  char path[1200];
  snprintf(path, sizeof path, "%s/RESULT.csv", out_dir);
  FILE *csv = fopen(path, "w");
  snprintf(path, sizeof path, "%s/RESULT.md", out_dir);
  FILE *md = fopen(path, "w");
  if (!csv || !md) {
    fprintf(stderr, "gw ablate: cannot write the results into %s\n", out_dir);
    return 1;
  }
  // every run's results first: the equal-time view needs the fastest setting's training time
  result *all = calloc((size_t)n_settings * n_seeds, sizeof *all);
  int *n_ok = calloc((size_t)n_settings, sizeof *n_ok);
  double fastest = INFINITY;  // the least mean training time of a setting, in seconds
  for (int s = 0; s < n_settings; s++) {
    double t[MAX_SEEDS], mean, std;
    for (int k = 0; k < n_seeds; k++) {
      char dir[1400];
      snprintf(dir, sizeof dir, "%s/%s/seed%ld", out_dir, settings[s].name, seeds[k]);
      result *r = &all[s * n_seeds + n_ok[s]];
      if (read_result(dir, r) == 0) t[n_ok[s]++] = r->train_seconds;
    }
    gw_mean_std(t, n_ok[s], &mean, &std);
    if (n_ok[s] && mean > 0 && mean < fastest) fastest = mean;
  }
  result first;
  bool header = false;
  for (int s = 0; s < n_settings; s++) {
    result *rs = &all[s * n_seeds];
    int ok = n_ok[s];
    char dir[1400];
    if (!ok) continue;
    if (!header) {
      first = rs[0];
      fprintf(csv, "setting,seeds,params,step_ms,train_s");
      fprintf(md, "# Ablation: %s\n\nBase config `%s`, seeds", grid, base);
      for (int k = 0; k < n_seeds; k++) fprintf(md, " %ld", seeds[k]);
      fprintf(md, "; each cell is the mean +- std over seeds of the final evaluation (equal "
              "steps).\n\n| setting | params | step ms | train s |");
      for (int i = 0; i < first.n; i++) {
        fprintf(csv, ",%s_mean,%s_std", first.name[i], first.name[i]);
        fprintf(md, " %s |", first.name[i]);
      }
      if (first.n_evals) fprintf(csv, ",%s_at_equal_time_mean,%s_at_equal_time_std", first.curve_metric, first.curve_metric);
      fprintf(csv, "\n");
      fprintf(md, "\n|---|---|---|---|");
      for (int i = 0; i < first.n; i++) fprintf(md, "---|");
      fprintf(md, "\n");
      header = true;
    }
    snprintf(dir, sizeof dir, "%s/%s/seed%ld", out_dir, settings[s].name, seeds[0]);
    long params = param_count(dir);
    double step[MAX_SEEDS], train[MAX_SEEDS], sm, ss, tm, ts;
    for (int k = 0; k < ok; k++) step[k] = rs[k].step_seconds * 1e3, train[k] = rs[k].train_seconds;
    gw_mean_std(step, ok, &sm, &ss);
    gw_mean_std(train, ok, &tm, &ts);
    fprintf(csv, "%s,%d,%ld,%.3f,%.1f", settings[s].name, ok, params, sm, tm);
    fprintf(md, "| %s | %ld | %.1f | %.0f |", settings[s].name, params, sm, tm);
    for (int i = 0; i < first.n; i++) {
      double v[MAX_SEEDS], mean, std;
      int m = 0;
      for (int k = 0; k < ok; k++)
        for (int j = 0; j < rs[k].n; j++)
          if (!strcmp(rs[k].name[j], first.name[i])) v[m++] = rs[k].value[j];
      gw_mean_std(v, m, &mean, &std);
      fprintf(csv, ",%.6g,%.6g", mean, std);
      fprintf(md, " %.4f +- %.4f |", mean, std);
    }
    if (first.n_evals) {
      double v[MAX_SEEDS], mean, std;
      int m = 0;
      for (int k = 0; k < ok; k++) {
        double x = value_within(&rs[k], fastest, NULL);
        if (!isnan(x)) v[m++] = x;
      }
      gw_mean_std(v, m, &mean, &std);
      if (m) fprintf(csv, ",%.6g,%.6g", mean, std);
      else fprintf(csv, ",,");
    }
    fprintf(csv, "\n");
    fprintf(md, "\n");
  }
  // the same settings at equal training time: each at its last evaluation within the time the
  // fastest setting needed for the whole schedule
  if (header && first.n_evals && isfinite(fastest)) {
    fprintf(md, "\n## At equal training time\n\n%s at the last evaluation during training within "
            "%.0f s of training (the fastest setting's whole schedule; evaluation time not "
            "counted; evaluations during training may use a subset, train.eval_max):\n\n"
            "| setting | at step | %s |\n|---|---|---|\n", first.curve_metric, fastest,
            first.curve_metric);
    for (int s = 0; s < n_settings; s++) {
      if (!n_ok[s]) continue;
      double v[MAX_SEEDS], steps[MAX_SEEDS], mean, std, step_mean, step_std;
      int m = 0;
      for (int k = 0; k < n_ok[s]; k++) {
        const result *r = &all[s * n_seeds + k];
        int64_t at = 0;
        double x = value_within(r, fastest, &at);
        if (isnan(x)) continue;
        steps[m] = (double)at;
        v[m++] = x;
      }
      gw_mean_std(v, m, &mean, &std);
      gw_mean_std(steps, m, &step_mean, &step_std);
      if (m) fprintf(md, "| %s | %.0f | %.4f +- %.4f |\n", settings[s].name, step_mean, mean, std);
      else fprintf(md, "| %s | - | no evaluation that early |\n", settings[s].name);
    }
  }
  free(all);
  free(n_ok);
  fclose(csv);
  fclose(md);
  printf("wrote %s/RESULT.md and RESULT.csv%s\n", out_dir, failed ? " (some runs failed)" : "");
  gw_config_free(&c);
  return failed ? 1 : 0;
}
