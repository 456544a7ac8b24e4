// The gw command: one small file per subcommand, each with a `cmd_<name>(argc, argv)` entry.
#ifndef GW_CLI_H
#define GW_CLI_H

int cmd_bench(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_data_convert(int argc, char **argv);
int cmd_data_check(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_ablate(int argc, char **argv);
int cmd_predict(int argc, char **argv);

#endif
