// VQA v2 (shared/datasets.md §2.2): v2_OpenEnded_mscoco_<subtype>_questions.json
// ({data_subtype, questions: [{image_id, question, question_id}]}) and
// v2_mscoco_<subtype>_annotations.json ({annotations: [{question_id, image_id, question_type,
// answer_type, multiple_choice_answer, answers: [10 x {answer, answer_confidence,
// answer_id}]}]}). Shapes world writes the same two files as <split>/questions.json and
// <split>/annotations.json. `in` is a questions file, or a directory of either layout; a
// questions file without annotations (test-dev) loads without answers.
//
// A split holds the images its questions name (by ascending id; their files come from the
// image pattern, where {split} is the data_subtype, e.g. train2014) and the questions in file
// order.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/formats.h"
#include "datasets/formats_json.h"
#include "datasets/h5_layout.h"
#include "tensor/error.h"

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

// The annotations file beside a questions file: questions.json -> annotations.json,
// v2_OpenEnded_mscoco_X_questions.json -> v2_mscoco_X_annotations.json.
static void annotations_path(char *buf, int len, const char *qpath) {
  char dir[4096], name[1024];
  gw_path_dir(dir, sizeof dir, qpath);
  const char *base = gw_path_base(qpath);
  if (!strcmp(base, "questions.json")) {
    snprintf(name, sizeof name, "annotations.json");
  } else {
    const char *p = base;
    char tmp[1024];
    size_t o = 0;
    while (*p && o < sizeof tmp - 1) {
      if (!strncmp(p, "OpenEnded_", 10)) p += 10;
      else if (!strncmp(p, "MultipleChoice_", 15)) p += 15;
      else if (!strncmp(p, "_questions.json", 15)) {
        o += (size_t)snprintf(tmp + o, sizeof tmp - o, "_annotations.json");
        p += 15;
      } else {
        tmp[o++] = *p++;
      }
    }
    tmp[o < sizeof tmp ? o : sizeof tmp - 1] = '\0';
    snprintf(name, sizeof name, "%s", tmp);
  }
  gw_path_join(buf, len, dir, name);
}

static int load_pair(const gw_load_opts *o, const char *qpath, const char *fallback_split,
                     gw_records *out) {
  char apath[4200];
  annotations_path(apath, sizeof apath, qpath);
  json_t *qdoc = gw_json_load(qpath), *adoc = NULL;
  if (!qdoc) return -1;
  if (gw_is_file(apath) && !(adoc = gw_json_load(apath))) {
    json_decref(qdoc);
    return -1;
  }
  const json_t *qs = json_object_get(qdoc, "questions");
  const json_t *as = adoc ? json_object_get(adoc, "annotations") : NULL;
  if (!json_is_array(qs) || (adoc && !json_is_array(as))) {
    gw_set_error("%s: expected a \"questions\" list (and \"annotations\" in %s)", qpath, apath);
    json_decref(qdoc);
    json_decref(adoc);
    return -1;
  }
  const char *subtype = gw_json_str(qdoc, "data_subtype");
  char split[256];
  if (subtype) gw_split_from_subtype(split, sizeof split, subtype);
  else snprintf(split, sizeof split, "%s", fallback_split);
  if (!subtype) subtype = fallback_split;
  const char *pattern = o->image_pattern ? o->image_pattern : "{split}/COCO_{split}_{id:012}.jpg";
  gw_rec_split *s = gw_records_split_add(out, split, qpath);
  gw_idmap ann_of = {0}, rows = {0};
  for (size_t k = 0; adoc && k < json_array_size(as); k++) {
    int64_t qid;
    if (gw_json_int(json_object_get(json_array_get(as, k), "question_id"), &qid))
      gw_idmap_put(&ann_of, qid, (int64_t)k);
  }
  // images: the ids the questions name, ascending
  size_t nq = json_array_size(qs);
  int64_t *ids = malloc((nq + 1) * sizeof *ids), n_ids = 0;
  GW_CHECK(ids, "data: out of memory");
  for (size_t k = 0; k < nq; k++) {
    int64_t id;
    if (gw_json_int(json_object_get(json_array_get(qs, k), "image_id"), &id) &&
        gw_idmap_get(&rows, id) < 0) {
      gw_idmap_put(&rows, id, 0);
      ids[n_ids++] = id;
    }
  }
  qsort(ids, (size_t)n_ids, sizeof *ids, cmp_i64);
  for (int64_t k = 0; k < n_ids; k++) {
    gw_idmap_put(&rows, ids[k], k);
    gw_rec_image *im = GW_REC_PUSH(s, images);
    char file[1024];
    gw_rec_image_path(file, sizeof file, pattern, ids[k], subtype);
    im->id = ids[k];
    im->file = gw_rec_strdup(file);
  }
  free(ids);
  int rc = 0;
  for (size_t k = 0; k < nq && rc == 0; k++) {
    const json_t *q = json_array_get(qs, k), *a = NULL;
    int64_t qid = -1, image_id;
    gw_json_int(json_object_get(q, "question_id"), &qid);
    const char *text = gw_json_str(q, "question"), *why = NULL;
    if (qid < 0 || !gw_json_int(json_object_get(q, "image_id"), &image_id)) {
      why = "needs an integer \"question_id\" and \"image_id\"";
    } else if (!gw_rec_has_words(text)) {
      why = "empty question (no words)";
    } else if (adoc) {
      int64_t at = gw_idmap_get(&ann_of, qid);
      a = at >= 0 ? json_array_get(as, (size_t)at) : NULL;
      const json_t *answers = json_object_get(a, "answers");
      if (!a) why = "no annotation has its question_id";
      else if (!gw_json_str(a, "multiple_choice_answer"))
        why = "its annotation has no \"multiple_choice_answer\"";
      else if (json_array_size(answers) != 10)
        why = "its annotation does not hold 10 human answers";
      for (size_t h = 0; !why && h < 10; h++)
        if (!gw_json_str(json_array_get(answers, h), "answer"))
          why = "a human answer has no \"answer\" text";
      const char *type = a ? gw_json_str(a, "answer_type") : NULL;
      if (!why && type && gw_answer_type_of(type) < 0)
        why = "its annotation's answer_type is not \"yes/no\", \"number\" or \"other\"";
    }
    if (why) {
      rc = gw_rec_bad(out, o->skip_bad, "%s: questions[%zu] (question_id %lld): %s", qpath, k,
                      (long long)qid, why);
      continue;
    }
    gw_rec_question *gq = GW_REC_PUSH(s, questions);
    gq->id = qid;
    gq->image = gw_idmap_get(&rows, image_id);
    gq->text = gw_rec_strdup(text);
    if (a) {
      gq->family = gw_rec_strdup(gw_json_str(a, "question_type"));
      gq->answer_type = gw_rec_strdup(gw_json_str(a, "answer_type"));
      gq->answer = gw_rec_strdup(gw_json_str(a, "multiple_choice_answer"));
      const json_t *answers = json_object_get(a, "answers");
      for (int h = 0; h < 10; h++)
        gq->answers[h] = gw_rec_strdup(gw_json_str(json_array_get(answers, (size_t)h), "answer"));
    }
  }
  gw_idmap_free(&ann_of);
  gw_idmap_free(&rows);
  json_decref(qdoc);
  json_decref(adoc);
  return rc;
}

int gw_load_vqa(const gw_load_opts *o, gw_records *out) {
  memset(out, 0, sizeof *out);
  out->format = gw_rec_strdup("vqa");
  out->dataset = gw_rec_strdup(o->dataset ? o->dataset : "vqa-v2");
  out->box_convention = "none (questions carry no boxes)";
  int rc = 0, found = 0;
  if (!gw_is_dir(o->in)) {
    char dir[4096];
    gw_path_dir(dir, sizeof dir, o->in);
    rc = load_pair(o, o->in, gw_path_base(dir), out);
    found = 1;
  } else {
    DIR *d = opendir(o->in);
    char **names = NULL;
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
      if (e->d_name[0] == '.') continue;
      names = realloc(names, (size_t)(n + 1) * sizeof *names);
      names[n++] = gw_rec_strdup(e->d_name);
    }
    if (d) closedir(d);
    for (int i = 0; i < n; i++)
      for (int j = i + 1; j < n; j++)
        if (strcmp(names[i], names[j]) > 0) {
          char *t = names[i];
          names[i] = names[j];
          names[j] = t;
        }
    for (int i = 0; i < n && rc == 0; i++) {
      char path[4200], q[4300];
      gw_path_join(path, sizeof path, o->in, names[i]);
      size_t len = strlen(names[i]);
      if (gw_is_dir(path)) {
        gw_path_join(q, sizeof q, path, "questions.json");
        if (!gw_is_file(q)) continue;
        rc = load_pair(o, q, names[i], out);
        found++;
      } else if (len > 15 && !strcmp(names[i] + len - 15, "_questions.json")) {
        rc = load_pair(o, path, names[i], out);
        found++;
      }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
  }
  if (rc == 0 && !found) {
    gw_set_error("%s: no *_questions.json files and no <split>/questions.json folders here", o->in);
    rc = -1;
  }
  if (rc < 0) {
    gw_records_free(out);
    return -1;
  }
  gw_records_sort(out);
  return 0;
}
