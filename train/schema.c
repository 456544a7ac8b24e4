#include "train/schema.h"

static const gw_cfg_key TRAIN_KEYS[] = {
    {"train.steps", GW_CFG_INT, "1000", 1, 1e9, NULL, "optimizer steps (ignored when train.epochs > 0)"},
    {"train.epochs", GW_CFG_INT, "0", 0, 1e6, NULL, "epochs over the training set (0: use train.steps)"},
    {"train.batch_size", GW_CFG_INT, "32", 1, 65536, NULL, "samples per micro-batch"},
    {"train.accum", GW_CFG_INT, "1", 1, 1024, NULL, "micro-batches per step (effective batch = batch_size x accum)"},
    {"train.optimizer", GW_CFG_ENUM, "adam", 1, 0, "adam|adamw|sgd|lars", "optimizer"},
    {"train.lr", GW_CFG_FLOAT, "1e-3", 0, 10, NULL, "base learning rate"},
    {"train.weight_decay", GW_CFG_FLOAT, "0", 0, 1, NULL, "weight decay (decoupled for adamw; none on biases and norms)"},
    {"train.momentum", GW_CFG_FLOAT, "0.9", 0, 1, NULL, "momentum (sgd, lars)"},
    {"train.nesterov", GW_CFG_BOOL, "false", 1, 0, NULL, "Nesterov momentum (sgd)"},
    {"train.beta1", GW_CFG_FLOAT, "0.9", 0, 1, NULL, "Adam beta1"},
    {"train.beta2", GW_CFG_FLOAT, "0.999", 0, 1, NULL, "Adam beta2"},
    {"train.schedule", GW_CFG_ENUM, "warmup_cosine", 1, 0, "constant|step|warmup_cosine", "learning-rate schedule"},
    {"train.warmup_steps", GW_CFG_INT, "0", 0, 1e9, NULL, "linear warm-up steps (with every schedule)"},
    {"train.min_lr_factor", GW_CFG_FLOAT, "0", 0, 1, NULL, "cosine schedule: final lr / base lr"},
    {"train.step_size", GW_CFG_INT, "1000", 1, 1e9, NULL, "step schedule: steps between decays"},
    {"train.gamma", GW_CFG_FLOAT, "0.1", 0, 1, NULL, "step schedule: decay factor"},
    {"train.clip_grad", GW_CFG_FLOAT, "0", 0, 1e6, NULL, "clip the global gradient norm to this (0: off)"},
    {"train.ema", GW_CFG_FLOAT, "0", 0, 0.99999, NULL, "EMA decay of the weights (0: off)"},
    {"train.seed", GW_CFG_INT, "1", 0, 4e9, NULL, "seed of initialisation, data order, dropout and augmentation"},
    {"train.threads", GW_CFG_INT, "0", 0, 256, NULL, "threads (0: all cores)"},
    {"train.eval_every", GW_CFG_INT, "0", 0, 1e9, NULL, "evaluate every N steps (0: at the end only)"},
    {"train.ckpt_every", GW_CFG_INT, "500", 1, 1e9, NULL, "write a checkpoint every N steps"},
    {"train.keep_last", GW_CFG_INT, "2", 1, 1000, NULL, "checkpoints kept besides the best"},
    {"train.log_every", GW_CFG_INT, "50", 1, 1e9, NULL, "plain log line every N steps (not on a terminal)"},
    {"train.best_metric", GW_CFG_STRING, "", 1, 0, NULL, "metric that picks best.h5 (empty: the task's main metric)"},
    {"train.init_from", GW_CFG_STRING, "", 1, 0, NULL, "a checkpoint whose weights start a new run, matched by name (as --init-from)"},
    {"train.eval_max", GW_CFG_INT, "0", 0, 1e9, NULL, "evaluate on at most N samples during training (0: all)"},
    {"train.groups.*.prefix", GW_CFG_STRING, "", 1, 0, NULL, "parameter group: parameters whose name starts with this"},
    {"train.groups.*.lr", GW_CFG_FLOAT, "train.lr", 0, 10, NULL, "parameter group: its learning rate (the schedule scales it too)"},
    {"train.groups.*.weight_decay", GW_CFG_FLOAT, "train.weight_decay", 0, 1, NULL, "parameter group: its weight decay"},
};

const gw_cfg_schema gw_trainer_schema = {"trainer", TRAIN_KEYS, sizeof TRAIN_KEYS / sizeof TRAIN_KEYS[0]};

static const gw_cfg_key DATA_KEYS[] = {
    {"data.dir", GW_CFG_STRING, "data/shapesworld-small", 1, 0, NULL, "data set directory (HDF5 layout of gw data synth/convert)"},
    {"data.preset", GW_CFG_ENUM, "small", 1, 0, "tiny|small|full|none", "shapes-world preset generated into data.dir if it is missing (none: never)"},
    {"data.seed", GW_CFG_INT, "0", 0, 4e9, NULL, "generator seed used when the data set is generated"},
    {"data.difficulty", GW_CFG_ENUM, "medium", 1, 0, "easy|medium|hard", "generator difficulty used when the data set is generated"},
    {"data.train_split", GW_CFG_STRING, "train", 1, 0, NULL, "split to train on"},
    {"data.eval_splits", GW_CFG_STRING, "val", 1, 0, NULL, "comma-separated splits evaluated during and after training"},
    {"data.fewshot_task", GW_CFG_ENUM, "sw-shape", 1, 0, "sw-shape|sw-color|sw-combo|sw-count|sw-shape-noisy", "few-shot sub-data-set (classification models)"},
    {"data.shots", GW_CFG_INT, "0", 0, 100000, NULL, "few-shot: training images per class (0: the whole pool)"},
    {"data.prefetch", GW_CFG_INT, "2", 0, 64, NULL, "batches assembled ahead by the loader thread (0: none)"},
    {"data.augment.flip", GW_CFG_BOOL, "false", 1, 0, NULL, "horizontal flip, swapping left/right words"},
    {"data.augment.scale", GW_CFG_FLOAT, "0", 0, 0.5, NULL, "random resize by 1 +- scale"},
    {"data.augment.translate", GW_CFG_FLOAT, "0", 0, 0.5, NULL, "random shift up to this share of the image"},
    {"data.augment.brightness", GW_CFG_FLOAT, "0", 0, 1, NULL, "random brightness 1 +- this"},
    {"data.augment.noise", GW_CFG_FLOAT, "0", 0, 1, NULL, "Gaussian pixel noise (0..1 scale)"},
};

const gw_cfg_schema gw_data_schema = {"data", DATA_KEYS, sizeof DATA_KEYS / sizeof DATA_KEYS[0]};
