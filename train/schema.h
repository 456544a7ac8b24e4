// The config keys of the trainer (train.*) and of the data (data.*). Models declare their own
// (model.*) in their gw_model_ops.
#ifndef GW_TRAIN_SCHEMA_H
#define GW_TRAIN_SCHEMA_H

#include "train/config.h"

extern const gw_cfg_schema gw_trainer_schema;
extern const gw_cfg_schema gw_data_schema;

#endif
