/* C backend of Loom's popcount kernels: the Python module loom.kernels._native.
 *
 * Same contract as loom/kernels/reference.py. The dispatchers in
 * loom/kernels/scoring.py check dtypes, shapes and codes before calling; this module
 * checks only item sizes and dimensions of the buffers it receives. Every kernel
 * releases the GIL while it runs. The kernels are compiled three times (portable,
 * POPCNT, AVX-512 VPOPCNTDQ) and the best one the CPU supports is chosen at import.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define LOOM_X86 1
#include <immintrin.h>
#endif

#define MAX_PLANES 32
#define KIND_ATLEAST 0
#define KIND_ATMOST 1
#define KIND_EXACTLY 2

typedef struct {
    const uint64_t *bits;          /* (n_columns, n_words) */
    const uint64_t *valid;         /* (n_features, n_words) */
    const int32_t *column_feature; /* (n_columns,) */
    int64_t n_columns, n_words, n_rows;
} Table;

typedef struct {
    const int32_t *literals; /* (n, width) column literal codes, -1 padded */
    const int8_t *kinds;     /* (n,) */
    const int32_t *bounds;   /* (n,) */
    int64_t n, width;
} Conditions;

typedef struct {
    const int32_t *rules; /* (n_rules, width) literal codes, -1 padded */
    int64_t n_rules, width;
    int32_t *negated_slot;    /* (n_columns,) slab row of a negated column, or -1 */
    int64_t *negated_columns; /* (n_negated,) */
    int64_t n_negated;
    int has_empty_rule; /* a rule of padding only, which needs the table's rows */
} Plan;

typedef struct {
    const uint64_t **rows; /* (width,) literal row pointers of one rule */
    uint64_t *accumulator; /* (2 * block,) */
    uint64_t *conditions;  /* (2 * n_conditions, block) */
    uint64_t *negations;   /* (n_negated, block) */
    uint64_t *vectors;     /* (n_rules, block) when rule vectors are kept */
    uint64_t *all_rows;    /* (block,) the rows that exist */
} Scratch;

static inline uint64_t row_word(const int64_t n_rows, const int64_t word) {
    const int64_t first = word * 64;
    if (first + 64 <= n_rows) return ~(uint64_t)0;
    if (first >= n_rows) return 0;
    return ((uint64_t)1 << (n_rows - first)) - 1;
}

/* The portable variant: whatever the compiler's default target allows. */
#define SUFFIX _portable
#define TARGET
#include "kernels_impl.h"
#undef SUFFIX
#undef TARGET

#ifdef LOOM_X86
#define SUFFIX _popcnt
#define TARGET __attribute__((target("popcnt")))
#include "kernels_impl.h"
#undef SUFFIX
#undef TARGET

#define AVX512 "popcnt,avx2,avx512f,avx512bw,avx512vl,avx512vpopcntdq,prefer-vector-width=512"
#define SUFFIX _avx512
#define TARGET __attribute__((target(AVX512)))
#include "kernels_impl.h"
#undef SUFFIX
#undef TARGET

/* XNOR-popcount product with AVX-512. B is first transposed to word-major order
 * (bt[w * padded + j], columns padded to a multiple of 16 with zeros), so a tile of
 * ROWS rows of A by 16 columns of B keeps its 2 * ROWS sums in vector lanes: each word
 * of A is broadcast against 16 columns' words, and no horizontal sum is needed. */
#define XNOR_ROWS 6

static inline __attribute__((always_inline, target(AVX512))) void xnor_tile_avx512(
    const uint64_t *a, const uint64_t *bt, const int64_t padded, const int64_t n_b,
    const int64_t n_words, const int64_t n_bits, const int64_t i, const int64_t j,
    const int rows, int32_t *out) {
    __m512i sums[XNOR_ROWS][2];
    for (int r = 0; r < XNOR_ROWS; r++) sums[r][0] = sums[r][1] = _mm512_setzero_si512();
    const uint64_t *column = bt + j;
    for (int64_t w = 0; w < n_words; w++) {
        const __m512i low = _mm512_loadu_si512((const void *)(column + w * padded));
        const __m512i high = _mm512_loadu_si512((const void *)(column + w * padded + 8));
        for (int r = 0; r < rows; r++) {
            const __m512i word = _mm512_set1_epi64((long long)a[(i + r) * n_words + w]);
            sums[r][0] = _mm512_add_epi64(sums[r][0],
                                          _mm512_popcnt_epi64(_mm512_xor_si512(word, low)));
            sums[r][1] = _mm512_add_epi64(sums[r][1],
                                          _mm512_popcnt_epi64(_mm512_xor_si512(word, high)));
        }
    }
    const __m512i total = _mm512_set1_epi64(n_bits);
    const int64_t left = n_b - j;
    const __mmask8 low_lanes = left >= 8 ? 0xFF : (__mmask8)((1u << left) - 1);
    const __mmask8 high_lanes =
        left >= 16 ? 0xFF : (left <= 8 ? 0 : (__mmask8)((1u << (left - 8)) - 1));
    for (int r = 0; r < rows; r++) {
        int32_t *target = out + (i + r) * n_b + j;
        const __m512i low = _mm512_sub_epi64(total, _mm512_slli_epi64(sums[r][0], 1));
        const __m512i high = _mm512_sub_epi64(total, _mm512_slli_epi64(sums[r][1], 1));
        _mm512_mask_cvtepi64_storeu_epi32(target, low_lanes, low);
        _mm512_mask_cvtepi64_storeu_epi32(target + 8, high_lanes, high);
    }
}

static __attribute__((target(AVX512))) void xnor_gemm_tiled_avx512(
    const uint64_t *a, const uint64_t *b, uint64_t *bt, const int64_t padded,
    const int64_t n_b, const int64_t n_words, const int64_t n_bits, const int64_t row_start,
    const int64_t row_stop, int32_t *out) {
    for (int64_t w = 0; w < n_words; w++) {
        for (int64_t j = 0; j < n_b; j++) bt[w * padded + j] = b[j * n_words + w];
        for (int64_t j = n_b; j < padded; j++) bt[w * padded + j] = 0;
    }
    /* Column tiles outside, so a tile's words of B stay in L1 while rows of A pass. */
    for (int64_t j = 0; j < n_b; j += 16) {
        for (int64_t i = row_start; i < row_stop; i += XNOR_ROWS) {
            const int rows = (row_stop - i >= XNOR_ROWS) ? XNOR_ROWS : (int)(row_stop - i);
            if (rows == XNOR_ROWS)
                xnor_tile_avx512(a, bt, padded, n_b, n_words, n_bits, i, j, XNOR_ROWS, out);
            else
                xnor_tile_avx512(a, bt, padded, n_b, n_words, n_bits, i, j, rows, out);
        }
    }
}

/* The same tile compared with the thresholds of its 16 columns. Each row of the tile
 * yields 16 output bits, stored as one 16-bit chunk of the row's output words: x86 is
 * little-endian, so chunk k of a row contains its bits 16k to 16k + 15. */
static inline __attribute__((always_inline, target(AVX512))) void xnor_threshold_tile_avx512(
    const uint64_t *a, const uint64_t *bt, const int64_t padded, const int64_t n_b,
    const int64_t n_words, const int64_t n_bits, const int64_t *thresholds,
    const int64_t i, const int64_t j, const int rows, uint16_t *out, const int64_t chunks) {
    __m512i sums[XNOR_ROWS][2];
    for (int r = 0; r < XNOR_ROWS; r++) sums[r][0] = sums[r][1] = _mm512_setzero_si512();
    const uint64_t *column = bt + j;
    for (int64_t w = 0; w < n_words; w++) {
        const __m512i low = _mm512_loadu_si512((const void *)(column + w * padded));
        const __m512i high = _mm512_loadu_si512((const void *)(column + w * padded + 8));
        for (int r = 0; r < rows; r++) {
            const __m512i word = _mm512_set1_epi64((long long)a[(i + r) * n_words + w]);
            sums[r][0] = _mm512_add_epi64(sums[r][0],
                                          _mm512_popcnt_epi64(_mm512_xor_si512(word, low)));
            sums[r][1] = _mm512_add_epi64(sums[r][1],
                                          _mm512_popcnt_epi64(_mm512_xor_si512(word, high)));
        }
    }
    const __m512i total = _mm512_set1_epi64(n_bits);
    const int64_t left = n_b - j;
    const __mmask8 low_lanes = left >= 8 ? 0xFF : (__mmask8)((1u << left) - 1);
    const __mmask8 high_lanes =
        left >= 16 ? 0xFF : (left <= 8 ? 0 : (__mmask8)((1u << (left - 8)) - 1));
    /* Masked loads read no memory in their masked-off lanes. */
    const __m512i low_cut = _mm512_maskz_loadu_epi64(low_lanes, thresholds + j);
    const __m512i high_cut = _mm512_maskz_loadu_epi64(high_lanes, thresholds + j + 8);
    for (int r = 0; r < rows; r++) {
        const __m512i low = _mm512_sub_epi64(total, _mm512_slli_epi64(sums[r][0], 1));
        const __m512i high = _mm512_sub_epi64(total, _mm512_slli_epi64(sums[r][1], 1));
        const __mmask8 low_bits = _mm512_mask_cmpge_epi64_mask(low_lanes, low, low_cut);
        const __mmask8 high_bits = _mm512_mask_cmpge_epi64_mask(high_lanes, high, high_cut);
        out[(i + r) * chunks + j / 16] = (uint16_t)(low_bits | ((unsigned)high_bits << 8));
    }
}

/* Rows of the output are zeroed first, since tiles write only the chunks of columns
 * that exist. */
static __attribute__((target(AVX512))) void xnor_threshold_tiled_avx512(
    const uint64_t *a, const uint64_t *b, uint64_t *bt, const int64_t padded,
    const int64_t n_b, const int64_t n_words, const int64_t n_bits,
    const int64_t *thresholds, const int64_t row_start, const int64_t row_stop,
    uint64_t *out, const int64_t out_words) {
    for (int64_t w = 0; w < n_words; w++) {
        for (int64_t j = 0; j < n_b; j++) bt[w * padded + j] = b[j * n_words + w];
        for (int64_t j = n_b; j < padded; j++) bt[w * padded + j] = 0;
    }
    memset(out + row_start * out_words, 0,
           sizeof(uint64_t) * (size_t)((row_stop - row_start) * out_words));
    uint16_t *chunks = (uint16_t *)out;
    for (int64_t j = 0; j < n_b; j += 16) {
        for (int64_t i = row_start; i < row_stop; i += XNOR_ROWS) {
            const int rows = (row_stop - i >= XNOR_ROWS) ? XNOR_ROWS : (int)(row_stop - i);
            if (rows == XNOR_ROWS)
                xnor_threshold_tile_avx512(a, bt, padded, n_b, n_words, n_bits, thresholds,
                                           i, j, XNOR_ROWS, chunks, 4 * out_words);
            else
                xnor_threshold_tile_avx512(a, bt, padded, n_b, n_words, n_bits, thresholds,
                                           i, j, rows, chunks, 4 * out_words);
        }
    }
}
#endif

/* ------------------------------------------------------------------------- */
/* Instruction-set choice                                                     */

enum { ISA_PORTABLE = 0, ISA_POPCNT = 1, ISA_AVX512 = 2 };
static const char *ISA_NAMES[] = {"portable", "popcnt", "avx512vpopcntdq"};
static int best_isa = ISA_PORTABLE;
static int active_isa = ISA_PORTABLE;

static void detect_isa(void) {
#ifdef LOOM_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq"))
        best_isa = ISA_AVX512;
    else if (__builtin_cpu_supports("popcnt"))
        best_isa = ISA_POPCNT;
#endif
    active_isa = best_isa;
}

/* ------------------------------------------------------------------------- */
/* Buffers                                                                    */

/* Takes a C-contiguous buffer of `ndim` dimensions and items of `itemsize` bytes. */
static int take_buffer(PyObject *object, Py_buffer *view, const int ndim,
                       const Py_ssize_t itemsize, const int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
    if (writable) flags |= PyBUF_WRITABLE;
    if (PyObject_GetBuffer(object, view, flags) != 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous%s array", name,
                     writable ? " writable" : "");
        return -1;
    }
    if (view->ndim != ndim || view->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError,
                     "%s must be %d-D with %zd-byte items, got %d-D with %zd-byte items",
                     name, ndim, itemsize, view->ndim, view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

typedef struct {
    Py_buffer views[16];
    int count;
} Buffers;

/* Takes a buffer and stores its data pointer in *data (NULL for None when optional). */
static int take(Buffers *buffers, PyObject *object, const int ndim,
                const Py_ssize_t itemsize, const int writable, const char *name,
                const int optional, void **data) {
    if (optional && object == Py_None) {
        *data = NULL;
        return 0;
    }
    Py_buffer *view = &buffers->views[buffers->count];
    if (take_buffer(object, view, ndim, itemsize, writable, name) != 0) return -1;
    buffers->count++;
    *data = view->buf;
    return 0;
}

static int64_t dimension(const Buffers *buffers, const void *data, const int axis) {
    for (int i = 0; i < buffers->count; i++)
        if (buffers->views[i].buf == data) return (int64_t)buffers->views[i].shape[axis];
    return 0;
}

static void release(Buffers *buffers) {
    for (int i = 0; i < buffers->count; i++) PyBuffer_Release(&buffers->views[i]);
    buffers->count = 0;
}

/* Reads the table and condition arguments shared by every scoring call (args 0-6). */
static int take_table(Buffers *buffers, PyObject *const *args, Table *table,
                      Conditions *cond) {
    void *bits, *valid, *column_feature, *literals, *kinds, *bounds;
    if (take(buffers, args[0], 2, 8, 0, "bits", 0, &bits) ||
        take(buffers, args[1], 2, 8, 0, "valid", 0, &valid) ||
        take(buffers, args[2], 1, 4, 0, "column_feature", 0, &column_feature) ||
        take(buffers, args[3], 2, 4, 0, "cond_literals", 0, &literals) ||
        take(buffers, args[4], 1, 1, 0, "cond_kinds", 0, &kinds) ||
        take(buffers, args[5], 1, 4, 0, "cond_bounds", 0, &bounds))
        return -1;
    table->bits = bits;
    table->valid = valid;
    table->column_feature = column_feature;
    table->n_columns = buffers->views[0].shape[0];
    table->n_words = buffers->views[0].shape[1];
    table->n_rows = PyLong_AsLongLong(args[6]);
    cond->literals = literals;
    cond->n = buffers->views[3].shape[0];
    cond->width = buffers->views[3].shape[1];
    cond->kinds = kinds;
    cond->bounds = bounds;
    return PyErr_Occurred() ? -1 : 0;
}

/* Finds the negated columns the rules use and gives each a slab row. */
static int make_plan(const Table *table, const int32_t *rules, const int64_t n_rules,
                     const int64_t width, Plan *plan) {
    plan->rules = rules;
    plan->n_rules = n_rules;
    plan->width = width;
    plan->n_negated = 0;
    plan->negated_slot = malloc(sizeof(int32_t) * (size_t)(table->n_columns + 1));
    plan->negated_columns = malloc(sizeof(int64_t) * (size_t)(table->n_columns + 1));
    if (!plan->negated_slot || !plan->negated_columns) return -1;
    for (int64_t c = 0; c < table->n_columns; c++) plan->negated_slot[c] = -1;
    plan->has_empty_rule = 0;
    for (int64_t r = 0; r < n_rules; r++) {
        int64_t used = 0;
        for (int64_t l = 0; l < width; l++) used += rules[r * width + l] >= 0;
        if (used == 0) plan->has_empty_rule = 1;
    }
    for (int64_t i = 0; i < n_rules * width; i++) {
        const int32_t code = rules[i];
        if (code < 0 || !(code & 1) || (code >> 1) >= table->n_columns) continue;
        const int64_t column = code >> 1;
        if (plan->negated_slot[column] < 0) {
            plan->negated_slot[column] = (int32_t)plan->n_negated;
            plan->negated_columns[plan->n_negated++] = column;
        }
    }
    return 0;
}

static void free_plan(Plan *plan) {
    free(plan->negated_slot);
    free(plan->negated_columns);
}

static int make_scratch(const Plan *plan, const Conditions *cond, const int64_t block,
                        const int keep_vectors, Scratch *scratch) {
    const size_t words = (size_t)block;
    scratch->rows = malloc(sizeof(uint64_t *) * (size_t)(plan->width + 2));
    scratch->accumulator = malloc(sizeof(uint64_t) * 2 * words);
    scratch->conditions = malloc(sizeof(uint64_t) * (size_t)(2 * cond->n + 1) * words);
    scratch->negations = malloc(sizeof(uint64_t) * (size_t)(plan->n_negated + 1) * words);
    scratch->vectors =
        keep_vectors ? malloc(sizeof(uint64_t) * (size_t)(plan->n_rules + 1) * words) : NULL;
    scratch->all_rows = malloc(sizeof(uint64_t) * words);
    return (scratch->rows && scratch->accumulator && scratch->conditions &&
            scratch->negations && scratch->all_rows && (scratch->vectors || !keep_vectors))
               ? 0
               : -1;
}

static void free_scratch(Scratch *scratch) {
    free((void *)scratch->rows);
    free(scratch->accumulator);
    free(scratch->conditions);
    free(scratch->negations);
    free(scratch->vectors);
    free(scratch->all_rows);
}

#define BLOCK_WORDS 512

/* Calls NAME##_avx512, NAME##_popcnt or NAME##_portable by the active instruction set. */
#ifdef LOOM_X86
#define DISPATCH(isa, name, ...)                                                        \
    do {                                                                                \
        if ((isa) == ISA_AVX512)                                                        \
            name##_avx512(__VA_ARGS__);                                                 \
        else if ((isa) == ISA_POPCNT)                                                   \
            name##_popcnt(__VA_ARGS__);                                                 \
        else                                                                            \
            name##_portable(__VA_ARGS__);                                               \
    } while (0)
#else
#define DISPATCH(isa, name, ...) name##_portable(__VA_ARGS__)
#endif

static int check_count(const Py_ssize_t nargs, const Py_ssize_t expected, const char *name) {
    if (nargs == expected) return 0;
    PyErr_Format(PyExc_TypeError, "%s takes %zd arguments, got %zd", name, expected, nargs);
    return -1;
}

/* ------------------------------------------------------------------------- */
/* Python functions                                                           */

/* score_rules(bits, valid, column_feature, cond_literals, cond_kinds, cond_bounds,
 *             n_rows, rules, target|None, mask|None, start, stop, out) */
static PyObject *py_score_rules(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_count(nargs, 13, "score_rules")) return NULL;
    const int64_t start = PyLong_AsLongLong(args[10]), stop = PyLong_AsLongLong(args[11]);
    if (PyErr_Occurred()) return NULL;
    Buffers buffers = {.count = 0};
    Table table;
    Conditions cond;
    Plan plan = {0};
    Scratch scratch = {0};
    PyObject *result = NULL;
    void *rules, *target, *mask, *out;
    if (take_table(&buffers, args, &table, &cond) ||
        take(&buffers, args[7], 2, 4, 0, "rules", 0, &rules) ||
        take(&buffers, args[8], 1, 8, 0, "target", 1, &target) ||
        take(&buffers, args[9], 1, 8, 0, "mask", 1, &mask) ||
        take(&buffers, args[12], 2, 8, 1, "out", 0, &out))
        goto done;
    if (make_plan(&table, rules, dimension(&buffers, rules, 0), dimension(&buffers, rules, 1),
                  &plan) ||
        make_scratch(&plan, &cond, BLOCK_WORDS, 0, &scratch)) {
        PyErr_NoMemory();
        goto done;
    }
    const int isa = active_isa;
    Py_BEGIN_ALLOW_THREADS
    DISPATCH(isa, score_rules, &table, &cond, &plan, target, mask, start, stop, BLOCK_WORDS,
             &scratch, out);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free_scratch(&scratch);
    free_plan(&plan);
    release(&buffers);
    return result;
}

/* score_rule_sets(<table args 0-6>, rules, rule_sets, target|None, mask|None, start,
 *                 stop, block_words, out_rules, out_sets) */
static PyObject *py_score_rule_sets(PyObject *self, PyObject *const *args,
                                    Py_ssize_t nargs) {
    (void)self;
    if (check_count(nargs, 16, "score_rule_sets")) return NULL;
    const int64_t start = PyLong_AsLongLong(args[11]), stop = PyLong_AsLongLong(args[12]);
    const int64_t block = PyLong_AsLongLong(args[13]);
    if (PyErr_Occurred()) return NULL;
    Buffers buffers = {.count = 0};
    Table table;
    Conditions cond;
    Plan plan = {0};
    Scratch scratch = {0};
    PyObject *result = NULL;
    void *rules, *sets, *target, *mask, *out_rules, *out_sets;
    if (take_table(&buffers, args, &table, &cond) ||
        take(&buffers, args[7], 2, 4, 0, "rules", 0, &rules) ||
        take(&buffers, args[8], 2, 4, 0, "rule_sets", 0, &sets) ||
        take(&buffers, args[9], 1, 8, 0, "target", 1, &target) ||
        take(&buffers, args[10], 1, 8, 0, "mask", 1, &mask) ||
        take(&buffers, args[14], 2, 8, 1, "out_rules", 0, &out_rules) ||
        take(&buffers, args[15], 2, 8, 1, "out_sets", 0, &out_sets))
        goto done;
    if (make_plan(&table, rules, dimension(&buffers, rules, 0), dimension(&buffers, rules, 1),
                  &plan) ||
        make_scratch(&plan, &cond, block, 1, &scratch)) {
        PyErr_NoMemory();
        goto done;
    }
    const int64_t n_sets = dimension(&buffers, sets, 0), width = dimension(&buffers, sets, 1);
    const int isa = active_isa;
    Py_BEGIN_ALLOW_THREADS
    DISPATCH(isa, score_rule_sets, &table, &cond, &plan, sets, n_sets, width, target, mask,
             start, stop, block, &scratch, out_rules, out_sets);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free_scratch(&scratch);
    free_plan(&plan);
    release(&buffers);
    return result;
}

/* score_decision_lists(<table args 0-6>, rules, lists, classes, mask|None, start, stop,
 *                      block_words, out) */
static PyObject *py_score_decision_lists(PyObject *self, PyObject *const *args,
                                         Py_ssize_t nargs) {
    (void)self;
    if (check_count(nargs, 15, "score_decision_lists")) return NULL;
    const int64_t start = PyLong_AsLongLong(args[11]), stop = PyLong_AsLongLong(args[12]);
    const int64_t block = PyLong_AsLongLong(args[13]);
    if (PyErr_Occurred()) return NULL;
    Buffers buffers = {.count = 0};
    Table table;
    Conditions cond;
    Plan plan = {0};
    Scratch scratch = {0};
    PyObject *result = NULL;
    void *rules, *lists, *classes, *mask, *out;
    if (take_table(&buffers, args, &table, &cond) ||
        take(&buffers, args[7], 2, 4, 0, "rules", 0, &rules) ||
        take(&buffers, args[8], 2, 4, 0, "lists", 0, &lists) ||
        take(&buffers, args[9], 2, 8, 0, "classes", 0, &classes) ||
        take(&buffers, args[10], 1, 8, 0, "mask", 1, &mask) ||
        take(&buffers, args[14], 3, 8, 1, "out", 0, &out))
        goto done;
    if (make_plan(&table, rules, dimension(&buffers, rules, 0), dimension(&buffers, rules, 1),
                  &plan) ||
        make_scratch(&plan, &cond, block, 1, &scratch)) {
        PyErr_NoMemory();
        goto done;
    }
    const int64_t n_lists = dimension(&buffers, lists, 0);
    const int64_t width = dimension(&buffers, lists, 1);
    const int64_t n_classes = dimension(&buffers, classes, 0);
    const int isa = active_isa;
    Py_BEGIN_ALLOW_THREADS
    DISPATCH(isa, score_decision_lists, &table, &cond, &plan, lists, n_lists, width, classes,
             n_classes, mask, start, stop, block, &scratch, out);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free_scratch(&scratch);
    free_plan(&plan);
    release(&buffers);
    return result;
}

/* cardinality(<table args 0-6>, start, stop, out_true, out_false) */
static PyObject *py_cardinality(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_count(nargs, 11, "cardinality")) return NULL;
    const int64_t start = PyLong_AsLongLong(args[7]), stop = PyLong_AsLongLong(args[8]);
    if (PyErr_Occurred()) return NULL;
    Buffers buffers = {.count = 0};
    Table table;
    Conditions cond;
    uint64_t *block_rows = NULL;
    PyObject *result = NULL;
    void *out_true, *out_false;
    if (take_table(&buffers, args, &table, &cond) ||
        take(&buffers, args[9], 2, 8, 1, "out_true", 0, &out_true) ||
        take(&buffers, args[10], 2, 8, 1, "out_false", 0, &out_false))
        goto done;
    block_rows = malloc(sizeof(uint64_t) * (size_t)(2 * cond.n + 1) * BLOCK_WORDS);
    if (!block_rows) {
        PyErr_NoMemory();
        goto done;
    }
    const int isa = active_isa;
    uint64_t *trues = out_true, *falses = out_false;
    Py_BEGIN_ALLOW_THREADS
    for (int64_t first = start; first < stop; first += BLOCK_WORDS) {
        const int64_t n = (stop - first < BLOCK_WORDS) ? stop - first : BLOCK_WORDS;
        DISPATCH(isa, conditions_block, &table, &cond, first, first + n, block_rows,
                 BLOCK_WORDS);
        for (int64_t j = 0; j < cond.n; j++) {
            memcpy(trues + j * table.n_words + first, block_rows + 2 * j * BLOCK_WORDS,
                   sizeof(uint64_t) * (size_t)n);
            memcpy(falses + j * table.n_words + first, block_rows + (2 * j + 1) * BLOCK_WORDS,
                   sizeof(uint64_t) * (size_t)n);
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(block_rows);
    release(&buffers);
    return result;
}

/* xnor_gemm(a, b, n_bits, row_start, row_stop, out) */
static PyObject *py_xnor_gemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_count(nargs, 6, "xnor_gemm")) return NULL;
    const int64_t n_bits = PyLong_AsLongLong(args[2]);
    const int64_t row_start = PyLong_AsLongLong(args[3]), row_stop = PyLong_AsLongLong(args[4]);
    if (PyErr_Occurred()) return NULL;
    Buffers buffers = {.count = 0};
    PyObject *result = NULL;
    uint64_t *transposed = NULL;
    void *a, *b, *out;
    if (take(&buffers, args[0], 2, 8, 0, "a", 0, &a) ||
        take(&buffers, args[1], 2, 8, 0, "b", 0, &b) ||
        take(&buffers, args[5], 2, 4, 1, "out", 0, &out))
        goto done;
    const int64_t n_words = dimension(&buffers, a, 1), n_b = dimension(&buffers, b, 0);
    const int64_t n_a = dimension(&buffers, a, 0);
    if (n_words > 0 && n_bits % 64) {
        /* Padding bits past n_bits must be zero, or they would count as differences. */
        const uint64_t padding = ~(((uint64_t)1 << (n_bits % 64)) - 1);
        const uint64_t *words[2] = {a, b};
        const int64_t rows[2] = {n_a, n_b};
        const char *names[2] = {"a", "b"};
        for (int m = 0; m < 2; m++) {
            for (int64_t r = 0; r < rows[m]; r++) {
                if (words[m][r * n_words + n_words - 1] & padding) {
                    PyErr_Format(PyExc_ValueError,
                                 "%s has padding bits set past bit %lld in row %lld; clear "
                                 "them",
                                 names[m], (long long)(n_bits - 1), (long long)r);
                    goto done;
                }
            }
        }
    }
    const int isa = active_isa;
#ifdef LOOM_X86
    const int64_t padded = (n_b + 15) / 16 * 16;
    if (isa == ISA_AVX512) {
        transposed = malloc(sizeof(uint64_t) * (size_t)(padded * n_words + 1));
        if (!transposed) {
            PyErr_NoMemory();
            goto done;
        }
    }
#endif
    Py_BEGIN_ALLOW_THREADS
#ifdef LOOM_X86
    if (isa == ISA_AVX512)
        xnor_gemm_tiled_avx512(a, b, transposed, padded, n_b, n_words, n_bits, row_start, row_stop,
                         out);
    else if (isa == ISA_POPCNT)
        xnor_gemm_popcnt(a, b, n_b, n_words, n_bits, row_start, row_stop, out);
    else
#endif
        xnor_gemm_portable(a, b, n_b, n_words, n_bits, row_start, row_stop, out);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(transposed);
    release(&buffers);
    return result;
}

/* xnor_threshold(a, b, n_bits, thresholds, row_start, row_stop, out) */
static PyObject *py_xnor_threshold(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (check_count(nargs, 7, "xnor_threshold")) return NULL;
    const int64_t n_bits = PyLong_AsLongLong(args[2]);
    const int64_t row_start = PyLong_AsLongLong(args[4]), row_stop = PyLong_AsLongLong(args[5]);
    if (PyErr_Occurred()) return NULL;
    Buffers buffers = {.count = 0};
    PyObject *result = NULL;
    uint64_t *transposed = NULL;
    void *a, *b, *thresholds, *out;
    if (take(&buffers, args[0], 2, 8, 0, "a", 0, &a) ||
        take(&buffers, args[1], 2, 8, 0, "b", 0, &b) ||
        take(&buffers, args[3], 1, 8, 0, "thresholds", 0, &thresholds) ||
        take(&buffers, args[6], 2, 8, 1, "out", 0, &out))
        goto done;
    const int64_t n_words = dimension(&buffers, a, 1), n_b = dimension(&buffers, b, 0);
    const int64_t out_words = dimension(&buffers, out, 1);
    const int isa = active_isa;
#ifdef LOOM_X86
    const int64_t padded = (n_b + 15) / 16 * 16;
    if (isa == ISA_AVX512) {
        transposed = malloc(sizeof(uint64_t) * (size_t)(padded * n_words + 1));
        if (!transposed) {
            PyErr_NoMemory();
            goto done;
        }
    }
#endif
    Py_BEGIN_ALLOW_THREADS
#ifdef LOOM_X86
    if (isa == ISA_AVX512)
        xnor_threshold_tiled_avx512(a, b, transposed, padded, n_b, n_words, n_bits,
                                    thresholds, row_start, row_stop, out, out_words);
    else if (isa == ISA_POPCNT)
        xnor_threshold_popcnt(a, b, n_b, n_words, n_bits, thresholds, row_start, row_stop,
                              out, out_words);
    else
#endif
        xnor_threshold_portable(a, b, n_b, n_words, n_bits, thresholds, row_start,
                                row_stop, out, out_words);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(transposed);
    release(&buffers);
    return result;
}

static PyObject *py_isa(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyUnicode_FromString(ISA_NAMES[active_isa]);
}

static PyObject *py_isas(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    PyObject *names = PyTuple_New(best_isa + 1);
    if (!names) return NULL;
    for (int i = 0; i <= best_isa; i++)
        PyTuple_SET_ITEM(names, i, PyUnicode_FromString(ISA_NAMES[i]));
    return names;
}

static PyObject *py_set_isa(PyObject *self, PyObject *name) {
    (void)self;
    const char *text = PyUnicode_AsUTF8(name);
    if (!text) return NULL;
    for (int i = 0; i <= best_isa; i++) {
        if (strcmp(text, ISA_NAMES[i]) == 0) {
            active_isa = i;
            Py_RETURN_NONE;
        }
    }
    PyErr_Format(PyExc_ValueError,
                 "instruction set %R is not available on this CPU; see isas()", name);
    return NULL;
}

static PyMethodDef methods[] = {
    {"score_rules", (PyCFunction)(void (*)(void))py_score_rules, METH_FASTCALL,
     "Add per-rule counts over a word range."},
    {"score_rule_sets", (PyCFunction)(void (*)(void))py_score_rule_sets, METH_FASTCALL,
     "Add per-rule and per-set counts over a word range."},
    {"score_decision_lists", (PyCFunction)(void (*)(void))py_score_decision_lists,
     METH_FASTCALL, "Add first-match counts of decision lists over a word range."},
    {"cardinality", (PyCFunction)(void (*)(void))py_cardinality, METH_FASTCALL,
     "Write the true and false rows of cardinality conditions over a word range."},
    {"xnor_gemm", (PyCFunction)(void (*)(void))py_xnor_gemm, METH_FASTCALL,
     "Write the XNOR-popcount product for a range of rows of A."},
    {"xnor_threshold", (PyCFunction)(void (*)(void))py_xnor_threshold, METH_FASTCALL,
     "Write the XNOR-popcount product compared with thresholds, as bits."},
    {"isa", py_isa, METH_NOARGS, "Name of the instruction set in use."},
    {"isas", py_isas, METH_NOARGS, "Names of the instruction sets this CPU supports."},
    {"set_isa", py_set_isa, METH_O, "Use the named instruction set (for tests)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "C kernels of loom.kernels.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    detect_isa();
    return PyModule_Create(&module);
}
