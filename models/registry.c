// Every model groundwork knows, by the name configs use in `model.name`.
#include <string.h>

#include "models/model.h"

extern const gw_model_ops gw_model_small_cnn;
extern const gw_model_ops gw_model_laconvnet;
extern const gw_model_ops gw_model_laconvnet_vqa;
extern const gw_model_ops gw_model_clip;
extern const gw_model_ops gw_model_vtclip;

static const gw_model_ops *const MODELS[] = {
    &gw_model_small_cnn,
    &gw_model_laconvnet,
    &gw_model_laconvnet_vqa,
    &gw_model_clip,
    &gw_model_vtclip,
};

int gw_model_count(void) { return (int)(sizeof MODELS / sizeof MODELS[0]); }

const gw_model_ops *gw_model_at(int i) { return MODELS[i]; }

const gw_model_ops *gw_model_find(const char *name) {
  for (int i = 0; i < gw_model_count(); i++)
    if (!strcmp(MODELS[i]->name, name)) return MODELS[i];
  return NULL;
}
