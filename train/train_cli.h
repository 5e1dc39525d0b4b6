/* train_cli.h: the body of the emotrain program (train and --eval).
 *
 * Kept as a function so that train/cli/emotrain.c (which also owns
 * --bench) can hand everything else over to it. Unlike the rest of the
 * trainer library, this prints and returns exit codes: 0 ok, 1 failed,
 * 2 usage. */
#ifndef TRAIN_CLI_H
#define TRAIN_CLI_H

int train_cli_main(int argc, char **argv);

#endif /* TRAIN_CLI_H */
