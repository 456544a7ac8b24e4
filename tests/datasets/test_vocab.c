// The tokenizer and the vocabulary (datasets/vocab.h): SimREC's tokenisation rule (shared/
// datasets.md §2.1), the special tokens, encoding with truncation, padding and <unk>, vocab.txt
// round trips, load errors that name file:line, and the order-sensitive hash.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datasets/vocab.h"
#include "testutil.h"

TestSuite(vocab, .init = gwt_setup, .fini = gwt_teardown, .timeout = 30);

// Tokenizes text and compares with the expected words, given as one space-separated string.
static void expect_tokens(const char *text, const char *expected) {
  char words[32][GW_MAX_WORD];
  int n = gw_tokenize(text, words, 32);
  char got[1024] = "";
  for (int i = 0; i < n && i < 32; i++) {
    if (i) strcat(got, " ");
    strcat(got, words[i]);
  }
  cr_assert_str_eq(got, expected, "tokenize(\"%s\") gave \"%s\", expected \"%s\"", text, got,
                   expected);
}

// SimREC: lower-case; strip . , ' ! ? " ( ) * # : ; ; '-' and '/' become spaces; split on
// whitespace. Other characters stay in their word, as in SimREC's regular expression.
Test(vocab, tokenizer_follows_the_simrec_rule) {
  expect_tokens("The Red Circle", "the red circle");
  expect_tokens("  left\tof\nthe   box  ", "left of the box");
  expect_tokens("man's hat.", "mans hat");
  expect_tokens("\"Hello,\" (she) said: yes; no! why? *#x", "hello she said yes no why x");
  expect_tokens("red-circle left/right", "red circle left right");
  expect_tokens("a--b//c - d / e", "a b c d e");
  expect_tokens("", "");
  expect_tokens(" .,;- ", "");
  expect_tokens("2nd guy from L", "2nd guy from l");
  expect_tokens("man & dog + cat", "man & dog + cat");  // not in SimREC's list: kept
  expect_tokens("50% off_white", "50% off_white");
}

// The count is the number of words in the text even past max_words, of which only the first
// max_words are written; overlong words are cut to GW_MAX_WORD - 1 characters.
Test(vocab, tokenizer_limits) {
  char words[3][GW_MAX_WORD];
  memset(words, 'x', sizeof words);
  cr_assert_eq(gw_tokenize("one two three four five", words, 2), 5);
  cr_assert_str_eq(words[0], "one");
  cr_assert_str_eq(words[1], "two");
  cr_assert_eq(words[2][0], 'x', "a word written past max_words");
  char longword[200];
  memset(longword, 'a', sizeof longword - 1);
  longword[sizeof longword - 1] = '\0';
  cr_assert_eq(gw_tokenize(longword, words, 3), 1);
  cr_assert_eq(strlen(words[0]), GW_MAX_WORD - 1);
}

// A new vocabulary holds the six special tokens at ids 0-5, in the documented order.
Test(vocab, special_tokens) {
  gw_vocab v;
  gw_vocab_init(&v);
  cr_assert_eq(v.size, GW_N_SPECIAL);
  cr_assert_eq(GW_N_SPECIAL, 6);
  static const char *const want[6] = {"<pad>", "<unk>", "<cls>", "<sep>", "<eos>", "<mask>"};
  const int ids[6] = {GW_PAD, GW_UNK, GW_CLS, GW_SEP, GW_EOS, GW_MASK};
  for (int i = 0; i < 6; i++) {
    cr_assert_eq(ids[i], i);
    cr_assert_str_eq(v.words[i], want[i]);
    cr_assert_str_eq(gw_special_tokens[i], want[i]);
    cr_assert_eq(gw_vocab_find(&v, want[i]), i);
  }
  cr_assert_eq(gw_vocab_find(&v, "red"), -1);
  gw_vocab_free(&v);
}

// add returns existing ids for known words; sort keeps the special tokens and orders the rest
// bytewise; find agrees with the new numbering (also past several rehashes).
Test(vocab, add_find_and_sort) {
  gw_vocab v;
  gw_vocab_init(&v);
  cr_assert_eq(gw_vocab_add(&v, "zebra"), 6);
  cr_assert_eq(gw_vocab_add(&v, "apple"), 7);
  cr_assert_eq(gw_vocab_add(&v, "zebra"), 6);
  char w[32];
  for (int i = 0; i < 500; i++) {
    snprintf(w, sizeof w, "w%03d", 499 - i);
    cr_assert_eq(gw_vocab_add(&v, w), 8 + i);
  }
  cr_assert_eq(v.size, 508);
  gw_vocab_sort(&v);
  for (int i = 0; i < 6; i++) cr_assert_str_eq(v.words[i], gw_special_tokens[i]);
  cr_assert_str_eq(v.words[6], "apple");
  for (int i = 7; i < v.size - 1; i++) cr_assert(strcmp(v.words[i], v.words[i + 1]) < 0);
  cr_assert_str_eq(v.words[v.size - 1], "zebra");
  for (int i = 0; i < v.size; i++) cr_assert_eq(gw_vocab_find(&v, v.words[i]), i, "%s", v.words[i]);
  gw_vocab_free(&v);
}

static void small_vocab(gw_vocab *v) {
  gw_vocab_init(v);
  const char *words[] = {"the", "red", "circle", "left", "of", "blue", "square"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) gw_vocab_add(v, words[i]);
  gw_vocab_sort(v);
}

// encode: the words' ids after tokenizing, <unk> for unknown words, <pad> after the end, cut to
// max_len; it returns the number of real tokens.
Test(vocab, encode_truncates_pads_and_marks_unknown_words) {
  gw_vocab v;
  small_vocab(&v);
  int32_t ids[8];
  int the = gw_vocab_find(&v, "the"), red = gw_vocab_find(&v, "red"),
      circle = gw_vocab_find(&v, "circle");
  int left = gw_vocab_find(&v, "left"), of = gw_vocab_find(&v, "of");
  cr_assert_eq(gw_vocab_encode(&v, "The RED circle", ids, 8), 3);
  int32_t want1[8] = {the, red, circle, GW_PAD, GW_PAD, GW_PAD, GW_PAD, GW_PAD};
  cr_assert(!memcmp(ids, want1, sizeof want1));
  cr_assert_eq(gw_vocab_encode(&v, "the green circle, left-of", ids, 8), 5);
  int32_t want2[8] = {the, GW_UNK, circle, left, of, GW_PAD, GW_PAD, GW_PAD};
  cr_assert(!memcmp(ids, want2, sizeof want2));
  // truncation: only max_len entries are written
  int32_t guard[6] = {-7, -7, -7, -7, -7, -7};
  cr_assert_eq(gw_vocab_encode(&v, "the red circle left of the blue square", guard, 4), 4);
  int32_t want3[6] = {the, red, circle, left, -7, -7};
  cr_assert(!memcmp(guard, want3, sizeof want3));
  // empty text: all padding; a special token typed in a text is an unknown word
  cr_assert_eq(gw_vocab_encode(&v, "", ids, 3), 0);
  cr_assert(ids[0] == GW_PAD && ids[1] == GW_PAD && ids[2] == GW_PAD);
  cr_assert_eq(gw_vocab_encode(&v, "<pad>", ids, 1), 1);
  cr_assert_eq(ids[0], GW_UNK, "\"<pad>\" typed in a text became the special token %d", ids[0]);
  gw_vocab_free(&v);
}

static void temp_path(char *buf, size_t len, const char *name) {
  snprintf(buf, len, "/tmp/gw_vocab_%d_%s", (int)getpid(), name);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fputs(text, f);
  fclose(f);
}

// save then load gives the same words, ids and hash; the file is one token per line.
Test(vocab, save_load_round_trip) {
  gw_vocab v, back;
  small_vocab(&v);
  char path[256];
  temp_path(path, sizeof path, "vocab.txt");
  cr_assert_eq(gw_vocab_save(&v, path), 0, "%s", gw_last_error());
  cr_assert_eq(gw_vocab_load(&back, path), 0, "%s", gw_last_error());
  cr_assert_eq(back.size, v.size);
  for (int i = 0; i < v.size; i++) {
    cr_assert_str_eq(back.words[i], v.words[i]);
    cr_assert_eq(gw_vocab_find(&back, v.words[i]), i);
  }
  cr_assert_eq(gw_vocab_hash(&back), gw_vocab_hash(&v));
  FILE *f = fopen(path, "r");
  char line[64];
  int lines = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    cr_assert_str_eq(line, v.words[lines]);
    lines++;
  }
  fclose(f);
  cr_assert_eq(lines, v.size);
  // a file without the last newline loads the same
  write_file(path, "<pad>\n<unk>\n<cls>\n<sep>\n<eos>\n<mask>\nred");
  gw_vocab_free(&back);
  cr_assert_eq(gw_vocab_load(&back, path), 0, "%s", gw_last_error());
  cr_assert_eq(back.size, 7);
  cr_assert_eq(gw_vocab_find(&back, "red"), 6);
  gw_vocab_free(&back);
  gw_vocab_free(&v);
  unlink(path);
}

// Loads `text` and expects an error containing `want` (which names file:line).
static void expect_load_error(const char *text, const char *want_suffix) {
  char path[256], want[512];
  temp_path(path, sizeof path, "bad.txt");
  write_file(path, text);
  gw_vocab v;
  cr_assert_eq(gw_vocab_load(&v, path), -1, "loading \"%s\" succeeded", text);
  snprintf(want, sizeof want, "%s%s", path, want_suffix);
  cr_assert(strstr(gw_last_error(), want), "the error \"%s\" does not contain \"%s\"",
            gw_last_error(), want);
  unlink(path);
}

// Errors name the file and line: a duplicate token, a wrong special token, an empty line, a
// line with two tokens, too few lines, a missing file.
Test(vocab, load_errors_name_the_file_and_line) {
  const char *head = "<pad>\n<unk>\n<cls>\n<sep>\n<eos>\n<mask>\n";
  char text[512];
  snprintf(text, sizeof text, "%sred\nblue\nred\n", head);
  expect_load_error(text, ":9:");
  cr_assert(strstr(gw_last_error(), "\"red\" appears twice"), "%s", gw_last_error());
  expect_load_error("<pad>\n<unk>\n<sep>\n<cls>\n<eos>\n<mask>\n", ":3:");
  cr_assert(strstr(gw_last_error(), "<cls>"), "%s", gw_last_error());
  snprintf(text, sizeof text, "%sred\n\nblue\n", head);
  expect_load_error(text, ":8:");
  snprintf(text, sizeof text, "%sred circle\n", head);
  expect_load_error(text, ":7:");
  expect_load_error("<pad>\n<unk>\n", ": 2 lines");
  expect_load_error("", ": 0 lines");
  gw_vocab v;
  cr_assert_eq(gw_vocab_load(&v, "/nonexistent/gw/vocab.txt"), -1);
  cr_assert(strstr(gw_last_error(), "/nonexistent/gw/vocab.txt"), "%s", gw_last_error());
}

// The hash depends on the words and their order (a checkpoint detects a renumbered vocabulary).
Test(vocab, hash_changes_with_order_and_content) {
  gw_vocab a, b, c;
  gw_vocab_init(&a);
  gw_vocab_init(&b);
  gw_vocab_init(&c);
  gw_vocab_add(&a, "red");
  gw_vocab_add(&a, "blue");
  gw_vocab_add(&b, "blue");
  gw_vocab_add(&b, "red");
  gw_vocab_add(&c, "red");
  gw_vocab_add(&c, "blue");
  cr_assert_eq(gw_vocab_hash(&a), gw_vocab_hash(&c));
  cr_assert_neq(gw_vocab_hash(&a), gw_vocab_hash(&b), "the order is not in the hash");
  gw_vocab_sort(&a);
  gw_vocab_sort(&b);
  cr_assert_eq(gw_vocab_hash(&a), gw_vocab_hash(&b), "sorted, the same words hash the same");
  gw_vocab_add(&c, "green");
  cr_assert_neq(gw_vocab_hash(&c), gw_vocab_hash(&a));
  // word boundaries count: {"ab", "c"} is not {"a", "bc"}
  gw_vocab d, e;
  gw_vocab_init(&d);
  gw_vocab_init(&e);
  gw_vocab_add(&d, "ab");
  gw_vocab_add(&d, "c");
  gw_vocab_add(&e, "a");
  gw_vocab_add(&e, "bc");
  cr_assert_neq(gw_vocab_hash(&d), gw_vocab_hash(&e));
  gw_vocab_free(&a);
  gw_vocab_free(&b);
  gw_vocab_free(&c);
  gw_vocab_free(&d);
  gw_vocab_free(&e);
}
