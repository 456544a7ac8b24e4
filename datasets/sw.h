// shapes world: groundwork's procedural vision-and-language data set (shared/datasets.md §6).
//
// A scene is a few flat shapes on a background. From one scene graph come the image, the
// referring expressions (levels L0-L3, each with the program that picks its target), the
// captions, the VQA questions and the few-shot class labels, all checked by one executor.
//
// Every image is generated from its own random stream, keyed by (seed, split, index): sample
// i of split s is the same bits whatever order or thread count made it.
#ifndef GW_SW_H
#define GW_SW_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor/rng.h"

// 2: <split>.h5 gains refs/context_box and questions/answer_type (every array of version 1 is
// unchanged, bit for bit). 3: the evaluation splits gain captions/true_start and true_images,
// the images each caption is true of (every array of version 2 is unchanged).
enum { SW_VERSION = 3 };

// ---- the object vocabulary (§6.3) ----
typedef enum sw_shape { SW_CIRCLE, SW_SQUARE, SW_TRIANGLE, SW_DIAMOND, SW_STAR, SW_CROSS,
                        SW_PENTAGON, SW_HEXAGON, SW_N_SHAPES } sw_shape;
typedef enum sw_color { SW_RED, SW_GREEN, SW_BLUE, SW_YELLOW, SW_MAGENTA, SW_CYAN, SW_ORANGE,
                        SW_WHITE, SW_N_COLORS } sw_color;
typedef enum sw_size { SW_SMALL, SW_LARGE, SW_MEDIUM, SW_N_SIZES } sw_size;
typedef enum sw_style { SW_SOLID, SW_OUTLINE, SW_N_STYLES } sw_style;
typedef enum sw_attr { SW_ATTR_SHAPE, SW_ATTR_COLOR, SW_ATTR_SIZE, SW_ATTR_STYLE, SW_N_ATTRS } sw_attr;

extern const char *const sw_shape_names[SW_N_SHAPES];
extern const char *const sw_color_names[SW_N_COLORS];
extern const char *const sw_size_names[SW_N_SIZES];
extern const char *const sw_style_names[SW_N_STYLES];
extern const uint8_t sw_color_rgb[SW_N_COLORS][3];
// Shape group A = {circle, square, triangle}, group B = {diamond, star, cross} (testA/testB).
static inline int sw_shape_group(int shape) { return shape <= SW_TRIANGLE ? 0 : 1; }

typedef enum sw_bg_mode { SW_BG_SOLID, SW_BG_GRADIENT, SW_BG_NOISE, SW_BG_TEXTURE } sw_bg_mode;

enum { SW_MAX_OBJ = 16, SW_MAX_POLY = 12 };

typedef struct sw_object {
  int id;
  int shape, color, size, style, rot;  // rot in 0..7 (steps of 45 degrees)
  float cx, cy, r;                     // centre and circumradius in pixels
  uint8_t rgb[3];                      // the colour after jitter
  int bbox[4];                         // [x, y, w, h]: pixels with coverage >= 0.5 (COCO)
  int area;                            // pixels with coverage >= 0.5
  int n_poly;                          // polygon vertices (0 for a circle)
  float poly[SW_MAX_POLY][2];
} sw_object;

typedef struct sw_scene {
  int n;
  sw_object obj[SW_MAX_OBJ];
  int bg_mode;
} sw_scene;

// ---- knobs (§6.10) ----
typedef struct sw_config {
  uint64_t seed;
  int img_size;
  int n_obj_min, n_obj_max;
  float rel_margin;      // delta, px
  float gap_px;
  float nearest_ratio;   // rho
  int min_same_shape;
  bool styles, rotation, extended_shapes, medium_size;
  int bg_mode;
  int bg_jitter, color_jitter;
  float size_jitter;
  float p_level[4];
  float p_swap, p_synonym, p_redundant;
  int refs_per_image, sents_per_ref;
  int captions_per_image, questions_per_image;
  int answer_noise;
  float p_layout_twins;
  bool comp_split;
  int max_len;
} sw_config;

// Splits (§6.9) and what makes each different.
typedef enum sw_split { SW_TRAIN, SW_VAL, SW_TESTA, SW_TESTB, SW_TEST_COMP, SW_TEST_HARD,
                        SW_N_SPLITS } sw_split;
extern const char *const sw_split_names[SW_N_SPLITS];

// The per-image random stream of (seed, split, index).
gw_rng sw_image_rng(uint64_t seed, const char *split, int64_t index);

// The knobs of a difficulty ("easy", "medium", "hard") at an image size; 0 on success.
int sw_config_defaults(sw_config *c, const char *difficulty, int img_size);
// The knobs a split actually uses (test_hard raises the object count and tightens delta).
sw_config sw_config_for_split(const sw_config *c, sw_split split);

// ---- scenes (datasets/sw_scene.c) ----
// Places objects for (split, index) by rejection sampling (no overlap with a gap, the axis
// margin on every pair, inside the frame), honouring the split's shape/palette rules.
// Returns 0, or -1 if no valid scene was found (the caller moves on).
int sw_scene_sample(const sw_config *c, sw_split split, gw_rng *r, sw_scene *s);
// A six-object scene planted with a swap pair (two expressions with the same words naming
// different objects), filled up with objects of other shapes when n_obj_min is above six
// (test_hard); -1 if the knobs do not allow one or placement failed.
int sw_scene_sample_swap(const sw_config *c, sw_split split, gw_rng *r, sw_scene *s);
// Colour palette rule of the compositional split: may this shape take this colour here?
bool sw_color_allowed(const sw_config *c, sw_split split, int shape, int color);
// Building a scene object by object (layout twins, few-shot images). sw_object_sample draws
// the attributes as sw_scene_sample does, keeping any of shape, color and size given as >= 0
// (the colour should pass sw_color_allowed), with the jittered rgb and the radius.
void sw_object_sample(const sw_config *c, sw_split split, gw_rng *r, int shape, int color,
                      int size, sw_object *o);
// Draws a centre for o (its radius kept) by the placement rules against the objects of s: no
// overlap with the gap, the axis margin, inside the frame; 50 retries. 0 on success; o is not
// added to s.
int sw_object_place(const sw_config *c, const sw_scene *s, gw_rng *r, sw_object *o);

// ---- rendering (datasets/sw_raster.c) ----
// Draws the scene into rgb (H, W, 3) uint8 and fills each object's bbox and area.
void sw_render(const sw_config *c, sw_scene *s, gw_rng *r, uint8_t *rgb);
// Coverage (0..16 of 4x4 samples) of pixel (px, py) by object o.
int sw_coverage(const sw_object *o, int px, int py, int stroke);

// ---- programs and the executor (datasets/sw_program.c) ----
// Every expression, caption and question is checked by running a CLEVR-like program on the
// scene graph. Values are sets of objects as bit masks.
typedef enum sw_rel { SW_LEFT, SW_RIGHT, SW_ABOVE, SW_BELOW, SW_CLOSEST, SW_FARTHEST, SW_N_RELS } sw_rel;
extern const char *const sw_rel_names[SW_N_RELS];
typedef enum sw_dir { SW_FROM_LEFT, SW_FROM_RIGHT, SW_FROM_TOP, SW_FROM_BOTTOM, SW_N_DIRS } sw_dir;
// on the left / right (of two), at the top / bottom (of two), and the four corners
typedef enum sw_loc { SW_LOC_LEFT, SW_LOC_RIGHT, SW_LOC_TOP, SW_LOC_BOTTOM, SW_LOC_TOP_LEFT,
                      SW_LOC_TOP_RIGHT, SW_LOC_BOTTOM_LEFT, SW_LOC_BOTTOM_RIGHT, SW_N_LOCS } sw_loc;
extern const char *const sw_loc_names[SW_N_LOCS];

typedef enum sw_op {
  SW_OP_SCENE,      // all objects
  SW_OP_FILTER,     // in[0] restricted to attr == value
  SW_OP_UNIQUE,     // in[0], which must hold exactly one object
  SW_OP_RELATE,     // objects j with rel(j, i) for the single object i of in[0] (left/right/above/below)
  SW_OP_NEAREST,    // among in[0] (minus the anchor), the one closest to / farthest from the
                    // single object of in[1], if it wins by the ratio rho (rel = CLOSEST/FARTHEST)
  SW_OP_INTERSECT,  // in[0] and in[1]
  SW_OP_ORDINAL,    // the k-th member of in[0] counted from dir (k = 1 is the leftmost, ...)
  SW_OP_LOCATE,     // the member of in[0] at loc (left/right/top/bottom of exactly two; a corner)
  SW_OP_COUNT_,     // number of ops
} sw_op;
extern const char *const sw_op_names[SW_OP_COUNT_];

enum { SW_MAX_NODES = 24 };
typedef struct sw_node {
  int op;
  int in[2];
  int attr, value;  // FILTER
  int rel;          // RELATE, NEAREST
  int dir, k;       // ORDINAL
  int loc;          // LOCATE
} sw_node;
typedef struct sw_program {
  int n;  // the last node is the output
  sw_node node[SW_MAX_NODES];
} sw_program;

// Runs the program. Returns the output set; *valid is false when a UNIQUE node (or an
// ORDINAL, LOCATE or NEAREST) did not find exactly one object. `identity` >= 0 replaces that
// node by the identity (RELATE becomes the whole scene, the others pass their input through),
// for the degeneracy check.
uint32_t sw_exec(const sw_config *c, const sw_scene *s, const sw_program *p, int identity, bool *valid);
// Does the program pick exactly {target}, with every intermediate unique node unique?
bool sw_picks(const sw_config *c, const sw_scene *s, const sw_program *p, int target);
// For L1-L3: does replacing any spatial node by the identity stop it from picking {target}?
bool sw_non_degenerate(const sw_config *c, const sw_scene *s, const sw_program *p, int target);
// The objects the program names, whose visibility its truth rests on: the referent, every
// anchor, the full set a noun phrase picks, and every member an ordinal, location or
// closest/farthest counts. Not the regions a relation spans ("everything left of the anchor")
// nor partial attribute sets. The loader keeps these whole when it shifts or resizes an image.
uint32_t sw_touched(const sw_config *c, const sw_scene *s, const sw_program *p);
int sw_attr_of(const sw_object *o, int attr);
// left(j, i): j is left of i by the margin delta (and likewise right, above, below).
bool sw_rel_holds(const sw_config *c, const sw_scene *s, int rel, int j, int i);

static inline int sw_popcount(uint32_t m) { return __builtin_popcount(m); }

// ---- referring expressions (datasets/sw_refexp.c) ----
// A noun phrase: which of the target's attributes it names (the values are the object's),
// and whether the noun is the shape word or a generic one ("shape", "object", "thing").
typedef struct sw_np {
  bool use[SW_N_ATTRS];
  int val[SW_N_ATTRS];
} sw_np;

typedef enum sw_ref_kind {
  SW_REF_ATTR,     // L0: "the blue star"
  SW_REF_LOC,      // L1: "the red shape on the left", "the circle in the top right corner"
  SW_REF_ORD,      // L1: "the second circle from the left", "the leftmost star"
  SW_REF_REL,      // L2: "the circle left of the green square", "the star closest to the box"
  SW_REF_CHAIN,    // L3: "the square above the star left of the red circle"
  SW_REF_AND,      // L3: "the circle below the cross and right of the big square"
} sw_ref_kind;

enum { SW_MAX_SENTS = 4, SW_SENT_LEN = 160 };

typedef struct sw_ref {
  int level, kind, target;
  sw_np np;
  int loc, dir, k;       // LOC / ORD
  int rel[2];            // REL: rel[0]; CHAIN: rel[0] target->anchor0, rel[1] anchor0->anchor1;
  int anchor[2];         // AND: rel[0] with anchor0 and rel[1] with anchor1
  sw_np anchor_np[2];
  int swap_of;           // index of the ref this one is a swap pair of, or -1
  sw_program prog;
  int n_sents;
  char sents[SW_MAX_SENTS][SW_SENT_LEN];
} sw_ref;

// Tries to make a referring expression of `level` (0-3) for object `target`; 0 on success.
int sw_ref_make(const sw_config *c, const sw_scene *s, int target, int level, gw_rng *r, sw_ref *out);
// Tries to make a swap pair: two L2 expressions with the same words, one attribute value
// exchanged between the target and the anchor phrase ("the red circle left of the blue
// square" / "the blue circle left of the red square"), naming two different objects of
// `allowed`. second->swap_of is left for the caller. 0 on success.
int sw_ref_make_swap_pair(const sw_config *c, const sw_scene *s, uint32_t allowed, gw_rng *r,
                          sw_ref *first, sw_ref *second);
// Writes n_sents paraphrases of the ref (synonyms and variants drawn from r).
void sw_ref_realize(const sw_config *c, const sw_scene *s, sw_ref *ref, int n_sents, gw_rng *r);
// The expressions of one image: up to refs_per_image refs with distinct targets (from the
// objects allowed as targets), levels drawn from p_level. Returns the count.
// With try_swap, it first looks for a swap pair (two refs, the second's swap_of = 0).
int sw_refs_for_image(const sw_config *c, const sw_scene *s, uint32_t allowed_targets, bool try_swap,
                      gw_rng *r, sw_ref *refs);
// Number of words in a sentence.
int sw_count_words(const char *sentence);
// The expressions' words, for captions and questions: the canonical word, or a synonym at the
// rate p_synonym ("small" / "little" / "tiny", "left of" / "to the left of", ...).
const char *sw_word_size(const sw_config *c, int size, gw_rng *r);
const char *sw_word_style(const sw_config *c, int style, gw_rng *r);
const char *sw_word_shape(const sw_config *c, int shape, gw_rng *r);
const char *sw_word_generic(const sw_config *c, gw_rng *r);  // "shape", "object", "thing"
const char *sw_word_rel(const sw_config *c, int rel, gw_rng *r);
// Builds e->prog from the ref's structure (kind, np, loc, dir, k, rel, anchor_np).
void sw_ref_program(sw_ref *e);
static inline int sw_first(uint32_t m) { return m ? __builtin_ctz(m) : -1; }

#endif
