// gw: the command line of groundwork.
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} command;

static const command commands[] = {
    {"train", cmd_train, "train a model from a YAML config (or resume a run)"},
    {"eval", cmd_eval, "evaluate a run or checkpoint on a split (writes metrics-SPLIT.json)"},
    {"predict", cmd_predict, "ground an expression in an image (or answer, or classify) and draw it"},
    {"info", cmd_info, "list a checkpoint's tensors, step, model and config"},
    {"graph", cmd_graph, "write the autograd graph of one training step as Graphviz DOT"},
    {"ablate", cmd_ablate, "run a config under a grid of overrides and seeds; write RESULT.md"},
    {"data", cmd_data, "generate (synth), import (convert) and inspect (check) data sets"},
    {"bench", cmd_bench, "run the standard workloads and print `ID THREADS VALUE UNIT` lines"},
};

static void usage(FILE *out) {
  fprintf(out, "usage: gw COMMAND [ARGS...]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
  fprintf(out, "\n`gw COMMAND --help` describes one command.\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "gw: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
