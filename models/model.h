// The interface every model implements, so that one trainer and one evaluator serve them all.
//
// A model declares its config keys (a schema), the task it trains on (which batches it eats),
// and four functions: create (register and initialise its parameters in a gw_nn), loss (the
// training forward pass, returning the scalar loss and naming its terms), predict (the
// evaluation outputs: boxes, answers, classes or embeddings) and destroy.
#ifndef GW_MODELS_MODEL_H
#define GW_MODELS_MODEL_H

#include "datasets/loader.h"
#include "nn/nn.h"
#include "train/config.h"

// A batch as tensors (views of the loader's memory, valid for the step).
typedef struct gw_inputs {
  int n;
  gw_tensor *images;         // (B, 3, S, S) float, pixels / 255 - 0.5
  gw_tensor *tokens;         // (B, L) int32, 0-padded
  gw_tensor *lengths;        // (B) int32
  gw_tensor *keep;           // (B, L) int32: 1 for real tokens (attention masks)
  gw_tensor *boxes;          // REC (B, 4) x1 y1 x2 y2 pixels
  gw_tensor *answer_scores;  // VQA (B, A)
  gw_tensor *labels;         // CLASSIFY (B) int32
  const gw_batch *raw;
} gw_inputs;

// What the trainer logs besides the total loss.
enum { GW_MAX_TERMS = 8 };
typedef struct gw_loss_terms {
  int n;
  const char *names[GW_MAX_TERMS];
  float values[GW_MAX_TERMS];
} gw_loss_terms;
void gw_terms_add(gw_loss_terms *t, const char *name, const gw_tensor *value);

// Evaluation outputs for B samples; the model fills what its task needs.
typedef struct gw_outputs {
  float *boxes;     // REC (B, 4) x1 y1 x2 y2 pixels
  int32_t *answer;  // VQA (B) answer ids
  int32_t *label;   // CLASSIFY (B)
  // retrieval: the model points these at (B, dim) L2-normalised embeddings it allocated in the
  // current arena (for sample i: its image's and its caption's), and sets dim
  float *image_emb, *text_emb;
  int dim;
} gw_outputs;

// What a model needs to know about its data.
typedef struct gw_model_info {
  int image_size;
  int vocab_size;
  int max_len;
  int n_answers;
  int n_classes;
  // class names (classification) or answers (VQA), one per line in id order, or NULL: a model
  // that reads its classes as text (VT-CLIP's prompts) needs them
  const char *labels;
} gw_model_info;

typedef struct gw_model_ops {
  const char *name;
  const char *help;
  gw_data_task task;
  gw_cfg_schema schema;  // the model's keys (all under "model.")
  void *(*create)(gw_nn *nn, const gw_config *cfg, const gw_model_info *info);
  gw_tensor *(*loss)(void *model, const gw_inputs *in, gw_loss_terms *terms);
  void (*predict)(void *model, const gw_inputs *in, gw_outputs *out);
  void (*destroy)(void *model);
} gw_model_ops;

// The registry (models/registry.c): every model, by name.
const gw_model_ops *gw_model_find(const char *name);
int gw_model_count(void);
const gw_model_ops *gw_model_at(int i);

// Wraps a loader batch as tensors in the current arena.
void gw_inputs_from_batch(gw_inputs *in, const gw_batch *b, const gw_dataset *d);

#endif
