// The pickle reader and writer: round trips at protocols 0 and 2, hand-written pickles in the
// byte forms Python 2 and 3 produce (including the protocol 4 opcodes), memo sharing, the
// refusal of object-constructing opcodes with the opcode and offset named, truncation, and an
// optional cross-check against CPython's pickle module when python3 is on the PATH.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datasets/pickle.h"
#include "testutil.h"

TestSuite(pickle, .init = gwt_setup, .fini = gwt_teardown, .timeout = 60);

// A refs(unc).p-like value: a list of ref dicts with nested sentences, ints, floats, None, bools,
// a tuple, a shared (memoized) node and non-ASCII text.
static gw_pk *sample_tree(void) {
  gw_pk *refs = gw_pk_list();
  gw_pk *shared = gw_pk_bytes("shared text");
  for (int r = 0; r < 3; r++) {
    gw_pk *ref = gw_pk_dict(), *sents = gw_pk_list(), *ids = gw_pk_list();
    gw_pk_set(ref, gw_pk_bytes("ref_id"), gw_pk_new_int(r));
    gw_pk_set(ref, gw_pk_bytes("ann_id"), gw_pk_new_int(1000000007LL * (r + 1)));  // > 32 bits
    gw_pk_set(ref, gw_pk_bytes("image_id"), gw_pk_new_int(-5 - r));
    gw_pk_set(ref, gw_pk_bytes("split"), gw_pk_bytes(r == 2 ? "testA" : "train"));
    for (int s = 0; s < 2; s++) {
      gw_pk *sent = gw_pk_dict(), *toks = gw_pk_list();
      gw_pk_append(toks, gw_pk_bytes("the"));
      gw_pk_append(toks, gw_pk_str("caf\xc3\xa9"));  // "café" as a unicode str
      gw_pk_set(sent, gw_pk_bytes("tokens"), toks);
      gw_pk_set(sent, gw_pk_bytes("raw"), gw_pk_bytes("The 'red' \\ \"circle\"\n\x01"));
      gw_pk_set(sent, gw_pk_bytes("sent_id"), gw_pk_new_int(r * 2 + s));
      gw_pk_set(sent, gw_pk_str("emoji \xf0\x9f\x99\x82"), gw_pk_float(-0.1 * (s + 1)));
      gw_pk_append(sents, sent);
      gw_pk_append(ids, gw_pk_new_int(r * 2 + s));
    }
    gw_pk_set(ref, gw_pk_bytes("sentences"), sents);
    gw_pk_set(ref, gw_pk_bytes("sent_ids"), ids);
    gw_pk *box = gw_pk_tuple();
    for (int k = 0; k < 4; k++) gw_pk_append(box, gw_pk_float(k * 1.5 + 1e-300));
    gw_pk_set(ref, gw_pk_bytes("bbox"), box);
    gw_pk_set(ref, gw_pk_bytes("none"), gw_pk_none());
    gw_pk_set(ref, gw_pk_bytes("flag"), gw_pk_bool(r % 2));
    gw_pk_set(ref, gw_pk_bytes("note"), gw_pk_ref(shared));
    gw_pk *small = gw_pk_tuple();
    for (int k = 0; k <= r; k++) gw_pk_append(small, gw_pk_new_int(k * 300));  // TUPLE1..3
    gw_pk_set(ref, gw_pk_bytes("small"), small);
    gw_pk_append(refs, ref);
  }
  gw_pk_free(shared);
  // a list long enough for two APPENDS batches at protocol 2
  gw_pk *big = gw_pk_list();
  for (int k = 0; k < 2500; k++) gw_pk_append(big, gw_pk_new_int(k * 97 - 70000));
  gw_pk_append(refs, big);
  return refs;
}

static void round_trip(int protocol) {
  gw_pk *tree = sample_tree();
  size_t len;
  char *buf = gw_pickle_dumps(tree, protocol, &len);
  cr_assert(buf, "dumps at protocol %d: %s", protocol, gw_last_error());
  if (protocol == 2) cr_assert(len > 2 && (uint8_t)buf[0] == 0x80 && buf[1] == 2);
  if (protocol == 0) cr_assert(memchr(buf, 0x80, len) == NULL, "protocol 0 has no PROTO opcode");
  gw_pk *back = gw_pickle_parse(buf, len, "memory");
  cr_assert(back, "parse at protocol %d: %s", protocol, gw_last_error());
  cr_assert(gw_pk_equal(tree, back), "protocol %d round trip differs", protocol);
  // the memo made the shared node one node again
  gw_pk *r0 = gw_pk_item(back, 0), *r1 = gw_pk_item(back, 1);
  cr_assert_eq(gw_pk_get(r0, "note"), gw_pk_get(r1, "note"), "a memoized node read back twice");
  const char *raw = gw_pk_text(gw_pk_get(gw_pk_item(gw_pk_get(r0, "sentences"), 0), "raw"));
  cr_assert_str_eq(raw, "The 'red' \\ \"circle\"\n\x01");
  int64_t ann;
  cr_assert(gw_pk_int(gw_pk_get(r1, "ann_id"), &ann) && ann == 2000000014LL);
  free(buf);
  gw_pk_free(tree);
  gw_pk_free(back);
}

Test(pickle, round_trip_protocol_0) { round_trip(0); }
Test(pickle, round_trip_protocol_2) { round_trip(2); }

Test(pickle, files_round_trip) {
  char dir[] = "/tmp/gw_pickle_XXXXXX";
  cr_assert(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/refs(unc).p", dir);
  gw_pk *tree = sample_tree();
  for (int p = 0; p <= 2; p += 2) {
    cr_assert(gw_pickle_save(tree, p, path) == 0, "%s", gw_last_error());
    gw_pk *back = gw_pickle_load(path);
    cr_assert(back && gw_pk_equal(tree, back), "file round trip at protocol %d", p);
    gw_pk_free(back);
  }
  gw_pk_free(tree);
  remove(path);
  rmdir(dir);
}

// Byte strings as Python 2 (protocol 0 and 2) and Python 3 (protocol 4) write them.
Test(pickle, reads_python_byte_forms) {
  // Python 2: pickle.dumps([{'a': 1, 'b': u'\xe9'}, (1.5, None), True, 12345678901L], 0)
  static const char p0[] =
      "(lp0\n(dp1\nS'a'\np2\nI1\nsS'b'\np3\nVe\\u0301\xe9\np4\nsa(F1.5\nNtp5\n"
      "aI01\naL12345678901L\na.";
  gw_pk *v = gw_pickle_parse(p0, sizeof p0 - 1, "p0");
  cr_assert(v, "%s", gw_last_error());
  cr_assert_eq(gw_pk_len(v), 4);
  gw_pk *d = gw_pk_item(v, 0);
  int64_t a;
  cr_assert(gw_pk_int(gw_pk_get(d, "a"), &a) && a == 1);
  cr_assert_str_eq(gw_pk_text(gw_pk_get(d, "b")), "e\xcc\x81\xc3\xa9");  // e + U+0301 + é
  cr_assert_eq(gw_pk_item(v, 1)->type, GW_PK_TUPLE);
  cr_assert_eq(gw_pk_item(v, 2)->type, GW_PK_BOOL);
  cr_assert(gw_pk_int(gw_pk_item(v, 3), &a) && a == 12345678901LL);
  gw_pk_free(v);

  // Python 3, protocol 4: pickle.dumps({'k': ['x', 'x'], 'n': -1}, 4)
  static const uint8_t p4[] = {0x80, 0x04, 0x95, 0x17, 0,    0,    0,    0,    0,    0,
                               0,    '}',  0x94, '(',  0x8c, 0x01, 'k',  0x94, ']',  0x94,
                               '(',  0x8c, 0x01, 'x',  0x94, 'h',  0x03, 'e',  0x8c, 0x01,
                               'n',  0x94, 'J',  0xff, 0xff, 0xff, 0xff, 'u',  '.'};
  v = gw_pickle_parse(p4, sizeof p4, "p4");
  cr_assert(v, "%s", gw_last_error());
  gw_pk *k = gw_pk_get(v, "k");
  cr_assert_eq(gw_pk_len(k), 2);
  cr_assert_eq(gw_pk_item(k, 0), gw_pk_item(k, 1), "BINGET must return the memoized node");
  cr_assert(gw_pk_int(gw_pk_get(v, "n"), &a) && a == -1);
  gw_pk_free(v);

  // LONG1 of 9 bytes does not fit in 64 bits: a clear error, not a wrong number
  static const uint8_t big[] = {0x80, 0x02, 0x8a, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9, '.'};
  cr_assert_null(gw_pickle_parse(big, sizeof big, "big.p"));
  cr_assert(strstr(gw_last_error(), "big.p") && strstr(gw_last_error(), "LONG1") &&
                strstr(gw_last_error(), "64 bits"),
            "%s", gw_last_error());
}

static void expect_refused(const void *data, size_t len, const char *opname, size_t offset) {
  cr_assert_null(gw_pickle_parse(data, len, "refs(unc).p"), "%s was accepted", opname);
  char want[64];
  snprintf(want, sizeof want, "byte offset %zu, opcode %s:", offset, opname);
  cr_assert(strstr(gw_last_error(), "refs(unc).p") && strstr(gw_last_error(), want) &&
                strstr(gw_last_error(), "refused"),
            "the message should name the file, %s and offset %zu: %s", opname, offset,
            gw_last_error());
}

Test(pickle, refuses_object_construction) {
  // Python 2: pickle.dumps(collections.OrderedDict(), 0) starts with GLOBAL
  static const char global[] = "ccollections\nOrderedDict\np0\n((ltp1\nRp2\n.";
  expect_refused(global, sizeof global - 1, "GLOBAL", 0);
  cr_assert(strstr(gw_last_error(), "collections.OrderedDict"), "%s", gw_last_error());
  // REDUCE after plain data: the offset is the REDUCE byte's
  static const uint8_t reduce[] = {0x80, 0x02, ']', 'q', 0x00, ')', 'R', '.'};
  expect_refused(reduce, sizeof reduce, "REDUCE", 6);
  static const uint8_t build[] = {0x80, 0x02, '}', '}', 'b', '.'};
  expect_refused(build, sizeof build, "BUILD", 4);
  static const uint8_t newobj[] = {0x80, 0x02, ')', ')', 0x81, '.'};
  expect_refused(newobj, sizeof newobj, "NEWOBJ", 4);
  static const uint8_t stack_global[] = {0x80, 0x04, 0x8c, 1, 'o', 0x8c, 1, 's', 0x93, '.'};
  expect_refused(stack_global, sizeof stack_global, "STACK_GLOBAL", 8);
  static const uint8_t ext[] = {0x80, 0x02, 0x82, 0x01, '.'};
  expect_refused(ext, sizeof ext, "EXT1", 2);
  static const char persid[] = "Pabc\n.";
  expect_refused(persid, sizeof persid - 1, "PERSID", 0);
  static const char inst[] = "(imod\nCls\n.";
  expect_refused(inst, sizeof inst - 1, "INST", 1);
}

Test(pickle, unknown_opcode_and_truncation) {
  static const uint8_t unknown[] = {0x80, 0x02, ']', 0xf3, '.'};
  cr_assert_null(gw_pickle_parse(unknown, sizeof unknown, "refs(unc).p"));
  cr_assert(strstr(gw_last_error(), "refs(unc).p") && strstr(gw_last_error(), "byte offset 3") &&
                strstr(gw_last_error(), "unknown pickle opcode 0xf3"),
            "%s", gw_last_error());
  static const uint8_t cut[] = {0x80, 0x02, ']', 'q', 0x00, '(', 'K', 0x01};
  cr_assert_null(gw_pickle_parse(cut, sizeof cut, "cut.p"));
  cr_assert(strstr(gw_last_error(), "cut.p") && strstr(gw_last_error(), "truncated"), "%s",
            gw_last_error());
  static const uint8_t cut_str[] = {0x80, 0x02, 'X', 0x10, 0, 0, 0, 'a', 'b'};
  cr_assert_null(gw_pickle_parse(cut_str, sizeof cut_str, "cut.p"));
  cr_assert(strstr(gw_last_error(), "BINUNICODE") && strstr(gw_last_error(), "truncated"), "%s",
            gw_last_error());
  static const uint8_t bad_get[] = {0x80, 0x02, 'h', 0x07, '.'};
  cr_assert_null(gw_pickle_parse(bad_get, sizeof bad_get, "get.p"));
  cr_assert(strstr(gw_last_error(), "memo index 7"), "%s", gw_last_error());
  cr_assert_null(gw_pickle_load("/nonexistent/refs(unc).p"));
  cr_assert(strstr(gw_last_error(), "/nonexistent/refs(unc).p"), "%s", gw_last_error());
}

// Optional: CPython reads what we write, and we read what CPython writes at protocols 0-4.
Test(pickle, cross_check_with_cpython) {
  if (system("python3 -c 'import pickle, json' >/dev/null 2>&1") != 0) {
    cr_skip_test("python3 is not available (the cross-check is optional)");
  }
  char dir[] = "/tmp/gw_pickle_py_XXXXXX";
  cr_assert(mkdtemp(dir));
  char path[256], cmd[1024];
  gw_pk *tree = sample_tree();
  for (int p = 0; p <= 2; p += 2) {
    snprintf(path, sizeof path, "%s/ours_p%d.p", dir, p);
    cr_assert(gw_pickle_save(tree, p, path) == 0, "%s", gw_last_error());
    // Python 3 reads our Python 2 str as str (encoding ASCII), as refer.py does
    snprintf(cmd, sizeof cmd,
             "python3 -c \"import pickle,sys; v=pickle.load(open(sys.argv[1],'rb')); "
             "assert v[0]['sentences'][1]['tokens'][1]=='caf\\u00e9'; "
             "assert v[1]['ann_id']==2000000014; assert v[0]['note'] is v[1]['note']; "
             "assert v[2]['bbox'][1]==1.5; assert v[3][-1]==2499*97-70000\" %s",
             path);
    cr_assert(system(cmd) == 0, "CPython could not read our protocol %d pickle correctly", p);
  }
  for (int p = 0; p <= 4; p++) {
    snprintf(path, sizeof path, "%s/py_p%d.p", dir, p);
    snprintf(cmd, sizeof cmd,
             "python3 -c \"import pickle,sys; pickle.dump([{'ref_id': 3, 'sentences': "
             "[{'raw': 'left \\u00e9', 'tokens': ['left']}], 'f': 0.25, 'big': 2**40, 'neg': -300, "
             "'t': (1, 2), 'n': None, 'b': False, 's': %s}], open(sys.argv[1], 'wb'), %d)\" %s",
             p >= 4 ? "{7}" : "[7]", p, path);  // sets need REDUCE before protocol 4
    cr_assert(system(cmd) == 0);
    gw_pk *v = gw_pickle_load(path);
    cr_assert(v, "protocol %d from CPython: %s", p, gw_last_error());
    gw_pk *ref = gw_pk_item(v, 0);
    int64_t x;
    double f;
    cr_assert(gw_pk_int(gw_pk_get(ref, "ref_id"), &x) && x == 3);
    cr_assert(gw_pk_int(gw_pk_get(ref, "big"), &x) && x == (int64_t)1 << 40, "protocol %d", p);
    cr_assert(gw_pk_int(gw_pk_get(ref, "neg"), &x) && x == -300);
    cr_assert(gw_pk_number(gw_pk_get(ref, "f"), &f) && f == 0.25);
    cr_assert_str_eq(gw_pk_text(gw_pk_get(gw_pk_item(gw_pk_get(ref, "sentences"), 0), "raw")),
                     "left \xc3\xa9");
    cr_assert_eq(gw_pk_len(gw_pk_get(ref, "t")), 2);
    cr_assert_eq(gw_pk_get(ref, "n")->type, GW_PK_NONE);
    cr_assert_eq(gw_pk_len(gw_pk_get(ref, "s")), 1, "a set reads as a list");
    gw_pk_free(v);
  }
  gw_pk_free(tree);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_assert(system(cmd) == 0);
}
