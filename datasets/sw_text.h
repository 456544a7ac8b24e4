// shapes world captions (§6.6), VQA questions (§6.7) and few-shot class images (§6.8).
// Each caption and question is a statement about the scene graph that the generator checks
// before keeping it.
#ifndef GW_SW_TEXT_H
#define GW_SW_TEXT_H

#include "datasets/sw.h"

// ---- words and noun phrases shared by captions and questions ----
extern const char *const sw_number_words[10];  // "zero", "one", ..., "nine"
// The objects an attribute-only noun phrase names (a filter program run by the executor).
uint32_t sw_np_set(const sw_config *c, const sw_scene *s, const sw_np *np);
// "[size] [color] [style] noun" in the expressions' words (synonyms at the rate p_synonym),
// appended to buf (len bytes) after a space. Plural nouns are canonical: "circles", "shapes".
void sw_np_text(const sw_config *c, const sw_np *np, bool plural, gw_rng *r, char *buf, int len);

// ---- captions ----
typedef enum sw_caption_family { SW_CAP_INVENTORY, SW_CAP_RELATIONAL, SW_CAP_COUNT, SW_CAP_FOCUS,
                                 SW_CAP_MIXED, SW_N_CAP_FAMILIES } sw_caption_family;
extern const char *const sw_caption_family_names[SW_N_CAP_FAMILIES];

// The statement a caption makes, as a conjunction of clauses:
//   COUNT:  exactly `count` objects match np (np with no attribute: all objects)
//   EXISTS: some object matching np relates by `rel` to some object matching np2
enum { SW_CAP_MAX_CLAUSES = 6, SW_CAP_MAX_SPANS = 8, SW_CAP_LEN = 256 };
typedef struct sw_clause {
  int kind;  // 0 COUNT, 1 EXISTS
  sw_np np, np2;
  int count;
  int rel;
} sw_clause;

typedef struct sw_caption {
  int family;
  int n_clauses;
  sw_clause clauses[SW_CAP_MAX_CLAUSES];
  char text[SW_CAP_LEN];
  // phrase spans: words [start, end) of the text and the objects the phrase names
  int n_spans;
  struct {
    int start, end;
    uint32_t objects;
  } spans[SW_CAP_MAX_SPANS];
} sw_caption;

// Evaluates the caption's statement on a scene.
bool sw_caption_true(const sw_config *c, const sw_scene *s, const sw_caption *cap);
// captions_per_image captions, each from a different family in random order, every one true on
// s. With a layout twin (the same inventory arranged differently), relational clauses are
// chosen so that they are false on the twin. Returns the count.
int sw_captions_for_image(const sw_config *c, const sw_scene *s, const sw_scene *twin,
                          const sw_ref *refs, int n_refs, gw_rng *r, sw_caption *out);
// Re-places the objects of `s` (same attributes, new positions) into `twin`: 0 on success.
int sw_scene_twin(const sw_config *c, const sw_scene *s, gw_rng *r, sw_scene *twin);

// ---- VQA ----
typedef enum sw_question_family { SW_Q_EXIST, SW_Q_COUNT, SW_Q_COLOR, SW_Q_SHAPE, SW_Q_SIZE,
                                  SW_Q_STYLE, SW_Q_HPOS, SW_Q_VPOS, SW_Q_CLOSEST, SW_Q_FARTHEST,
                                  SW_Q_COMPARE_ATTR, SW_Q_COMPARE_COUNT, SW_Q_RELATION,
                                  SW_N_Q_FAMILIES } sw_question_family;
extern const char *const sw_question_family_names[SW_N_Q_FAMILIES];
// VQA v2 answer types: "yes/no", "number", "other"
extern const char *const sw_answer_type_names[3];
int sw_question_answer_type(int family);

enum { SW_Q_LEN = 160, SW_A_LEN = 16 };
typedef struct sw_question {
  int family;
  char text[SW_Q_LEN];
  char answer[SW_A_LEN];
} sw_question;

// Every valid candidate question for the scene (referred objects unique, the question text not
// containing its answer, relational families non-degenerate), up to max; returns the count.
int sw_question_candidates(const sw_config *c, const sw_scene *s, gw_rng *r, sw_question *out, int max);

// Split-level balancing, applied to images in index order (so still deterministic): yes/no
// exactly balanced per family, other families by CLEVR's rejection rule.
typedef struct sw_vqa_balancer {
  int64_t yes[SW_N_Q_FAMILIES], no[SW_N_Q_FAMILIES];
  int64_t counts[SW_N_Q_FAMILIES][64];  // per answer id within the family
} sw_vqa_balancer;
// Picks up to `want` of the candidates for one image, updating the balancer; returns how many
// were written to out.
int sw_vqa_select(sw_vqa_balancer *b, const sw_question *cand, int n_cand, int want, gw_rng *r,
                  sw_question *out);
// The answer vocabulary (answers.txt order) and its size.
extern const char *const sw_answers[];
extern const int sw_n_answers;
// The id of an answer in sw_answers, or -1.
int sw_answer_id(const char *answer);

// ---- few-shot classification sub-data-sets ----
typedef enum sw_fewshot_task { SW_FS_SHAPE, SW_FS_COLOR, SW_FS_COMBO, SW_FS_COUNT,
                               SW_FS_SHAPE_NOISY, SW_N_FS_TASKS } sw_fewshot_task;
extern const char *const sw_fewshot_task_names[SW_N_FS_TASKS];
int sw_fewshot_n_classes(const sw_config *c, int task);
// The class's name for prompts ("circle", "red", "red circle", "three shapes").
void sw_fewshot_class_name(const sw_config *c, int task, int cls, char *buf, int len);
// The prompt template of each task, "%s" standing for the class name ("a picture of a %s shape.").
extern const char *const sw_fewshot_templates[SW_N_FS_TASKS];
// The prompt template with the class name filled in.
void sw_fewshot_prompt(const sw_config *c, int task, int cls, char *buf, int len);
// A scene of class `cls` for the task; 0 on success.
int sw_fewshot_scene(const sw_config *c, int task, int cls, gw_rng *r, sw_scene *s);

#endif
