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
} Plan;

typedef struct {
    const uint64_t **rows; /* (width,) literal row pointers of one rule */
    uint64_t *accumulator; /* (2 * block,) */
    uint64_t *conditions;  /* (2 * n_conditions, block) */
    uint64_t *negations;   /* (n_negated, block) */
    uint64_t *vectors;     /* (n_rules, block) when rule vectors are kept */
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

#define AVX512 "popcnt,avx2,avx512f,avx512bw,avx512vl,avx512vpopcntdq"
#define SUFFIX _avx512
#define TARGET __attribute__((target(AVX512)))
#include "kernels_impl.h"
#undef SUFFIX
#undef TARGET

/* XNOR-popcount product with AVX-512: a 4 x 4 tile of outputs keeps 16 vector
 * accumulators while 8 words of 4 rows of A and 4 rows of B stream through. */
static inline __attribute__((always_inline, target(AVX512))) void xnor_tile_avx512(
    const uint64_t *a, const uint64_t *b, const int64_t n_b, const int64_t n_words,
    const int64_t n_bits, const int64_t i, const int64_t j, const int rows,
    const int columns, int32_t *out) {
    __m512i sums[4][4];
    for (int x = 0; x < 4; x++)
        for (int y = 0; y < 4; y++) sums[x][y] = _mm512_setzero_si512();
    for (int64_t w = 0; w < n_words; w += 8) {
        const __mmask8 lanes =
            (n_words - w >= 8) ? (__mmask8)0xFF : (__mmask8)((1u << (n_words - w)) - 1);
        __m512i left[4], right[4];
        for (int x = 0; x < 4; x++)
            left[x] = x < rows ? _mm512_maskz_loadu_epi64(lanes, a + (i + x) * n_words + w)
                               : _mm512_setzero_si512();
        for (int y = 0; y < 4; y++)
            right[y] = y < columns
                           ? _mm512_maskz_loadu_epi64(lanes, b + (j + y) * n_words + w)
                           : _mm512_setzero_si512();
        for (int x = 0; x < 4; x++)
            for (int y = 0; y < 4; y++)
                sums[x][y] = _mm512_add_epi64(
                    sums[x][y], _mm512_popcnt_epi64(_mm512_xor_si512(left[x], right[y])));
    }
    for (int x = 0; x < rows; x++)
        for (int y = 0; y < columns; y++)
            out[(i + x) * n_b + (j + y)] =
                (int32_t)(n_bits - 2 * (int64_t)_mm512_reduce_add_epi64(sums[x][y]));
}

static __attribute__((target(AVX512))) void xnor_gemm_tiled_avx512(
    const uint64_t *a, const uint64_t *b, const int64_t n_b, const int64_t n_words,
    const int64_t n_bits, const int64_t row_start, const int64_t row_stop,
    int32_t *out) {
    for (int64_t i = row_start; i < row_stop; i += 4) {
        const int rows = (row_stop - i >= 4) ? 4 : (int)(row_stop - i);
        for (int64_t j = 0; j < n_b; j += 4) {
            const int columns = (n_b - j >= 4) ? 4 : (int)(n_b - j);
            if (rows == 4 && columns == 4)
                xnor_tile_avx512(a, b, n_b, n_words, n_bits, i, j, 4, 4, out);
            else
                xnor_tile_avx512(a, b, n_b, n_words, n_bits, i, j, rows, columns, out);
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

static int take(Buffers *buffers, PyObject *object, const int ndim,
                const Py_ssize_t itemsize, const int writable, const char *name) {
    if (take_buffer(object, &buffers->views[buffers->count], ndim, itemsize, writable,
                    name) != 0)
        return -1;
    buffers->count++;
    return 0;
}

static void release(Buffers *buffers) {
    for (int i = 0; i < buffers->count; i++) PyBuffer_Release(&buffers->views[i]);
    buffers->count = 0;
}

#define VIEW(i) (buffers.views[(i)])
#define SHAPE(i, d) ((int64_t)buffers.views[(i)].shape[(d)])

/* Reads the table and condition arguments shared by every scoring call: buffers 0-5. */
static int take_table(Buffers *buffers, PyObject *const *args, const int64_t n_rows,
                      Table *table, Conditions *cond) {
    if (take(buffers, args[0], 2, 8, 0, "bits") || take(buffers, args[1], 2, 8, 0, "valid") ||
        take(buffers, args[2], 1, 4, 0, "column_feature") ||
        take(buffers, args[3], 2, 4, 0, "cond_literals") ||
        take(buffers, args[4], 1, 1, 0, "cond_kinds") ||
        take(buffers, args[5], 1, 4, 0, "cond_bounds"))
        return -1;
    Py_buffer *v = buffers->views;
    table->bits = v[0].buf;
    table->valid = v[1].buf;
    table->column_feature = v[2].buf;
    table->n_columns = v[0].shape[0];
    table->n_words = v[0].shape[1];
    table->n_rows = n_rows;
    cond->literals = v[3].buf;
    cond->n = v[3].shape[0];
    cond->width = v[3].shape[1];
    cond->kinds = v[4].buf;
    cond->bounds = v[5].buf;
    return 0;
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
    scratch->rows = malloc(sizeof(uint64_t *) * (size_t)(plan->width + 1));
    scratch->accumulator = malloc(sizeof(uint64_t) * 2 * words);
    scratch->conditions = malloc(sizeof(uint64_t) * (size_t)(2 * cond->n + 1) * words);
    scratch->negations = malloc(sizeof(uint64_t) * (size_t)(plan->n_negated + 1) * words);
    scratch->vectors =
        keep_vectors ? malloc(sizeof(uint64_t) * (size_t)(plan->n_rules + 1) * words) : NULL;
    return (scratch->rows && scratch->accumulator && scratch->conditions &&
            scratch->negations && (scratch->vectors || !keep_vectors))
               ? 0
               : -1;
}

static void free_scratch(Scratch *scratch) {
    free((void *)scratch->rows);
    free(scratch->accumulator);
    free(scratch->conditions);
    free(scratch->negations);
    free(scratch->vectors);
}

#define BLOCK_WORDS 512

/* ------------------------------------------------------------------------- */
/* Python functions                                                           */

static PyObject *py_score_rules(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 13) {
        PyErr_SetString(PyExc_TypeError, "score_rules takes 13 arguments");
        return NULL;
    }
    const int64_t n_rows = PyLong_AsLongLong(args[6]);
    const int64_t start = PyLong_AsLongLong(args[10]), stop = PyLong_AsLongLong(args[11]);
    if (PyErr_Occurred()) return NULL;
    Buffers buffers = {.count = 0};
    Table table;
    Conditions cond;
    Plan plan = {0};
    Scratch scratch = {0};
    PyObject *result = NULL;
    if (take_table(&buffers, args, n_rows, &table, &cond) ||
        take(&buffers, args[7], 2, 4, 0, "rules") || take(&buffers, args[8], 1, 8, 0, "target") ||
        take(&buffers, args[9], 1, 8, 0, "mask") || take(&buffers, args[12], 2, 8, 1, "out"))
        goto done;
    if (make_plan(&table, VIEW(6).buf, SHAPE(6, 0), SHAPE(6, 1), &plan) ||
        make_scratch(&plan, &cond, BLOCK_WORDS, 0, &scratch)) {
        PyErr_NoMemory();
        goto done;
    }
    const uint64_t *target = VIEW(7).buf, *mask = VIEW(8).buf;
    int64_t *out = VIEW(9).buf;
    const int isa = active_isa;
    Py_BEGIN_ALLOW_THREADS
#ifdef LOOM_X86
    if (isa == ISA_AVX512)
        score_rules_avx512(&table, &cond, &plan, target, mask, start, stop, BLOCK_WORDS,
                           &scratch, out);
    else if (isa == ISA_POPCNT)
        score_rules_popcnt(&table, &cond, &plan, target, mask, start, stop, BLOCK_WORDS,
                           &scratch, out);
    else
#endif
        score_rules_portable(&table, &cond, &plan, target, mask, start, stop, BLOCK_WORDS,
                             &scratch, out);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free_scratch(&scratch);
    free_plan(&plan);
    release(&buffers);
    return result;
}

static PyObject *py_score_rule_sets(PyObject *self, PyObject *const *args,
                                    Py_ssize_t nargs) {
    (void)self;
    if (nargs != 16) {
        PyErr_SetString(PyExc_TypeError, "score_rule_sets takes 16 arguments");
        return NULL;
    }
    const int64_t n_rows = PyLong_AsLongLong(args[6]);
    const int64_t start = PyLong_AsLongLong(args[11]), stop = PyLong_AsLongLong(args[12]);
    const int64_t block = PyLong_AsLongLong(args[13]);
    if (PyErr_Occurred()) return NULL;
    Buffers buffers = {.count = 0};
    Table table;
    Conditions cond;
    Plan plan = {0};
    Scratch scratch = {0};
    PyObject *result = NULL;
    if (take_table(&buffers, args, n_rows, &table, &cond) ||
        take(&buffers, args[7], 2, 4, 0, "rules") ||
        take(&buffers, args[8], 2, 4, 0, "rule_sets") ||
        take(&buffers, args[9], 1, 8, 0, "target") || take(&buffers, args[10], 1, 8, 0, "mask") ||
        take(&buffers, args[14], 2, 8, 1, "out_rules") ||
        take(&buffers, args[15], 2, 8, 1, "out_sets"))
        goto done;
    if (make_plan(&table, VIEW(6).buf, SHAPE(6, 0), SHAPE(6, 1), &plan) ||
        make_scratch(&plan, &cond, block, 1, &scratch)) {
        PyErr_NoMemory();
        goto done;
    }
    const int32_t *sets = VIEW(7).buf;
    const int64_t n_sets = SHAPE(7, 0), set_width = SHAPE(7, 1);
    const uint64_t *target = VIEW(8).buf, *mask = VIEW(9).buf;
    int64_t *out_rules = VIEW(10).buf, *out_sets = VIEW(11).buf;
    const int isa = active_isa;
    Py_BEGIN_ALLOW_THREADS
#ifdef LOOM_X86
    if (isa == ISA_AVX512)
        score_rule_sets_avx512(&table, &cond, &plan, sets, n_sets, set_width, target, mask,
                               start, stop, block, &scratch, out_rules, out_sets);
    else if (isa == ISA_POPCNT)
        score_rule_sets_popcnt(&table, &cond, &plan, sets, n_sets, set_width, target, mask,
                               start, stop, block, &scratch, out_rules, out_sets);
    else
#endif
        score_rule_sets_portable(&table, &cond, &plan, sets, n_sets, set_width, target,
                                 mask, start, stop, block, &scratch, out_rules, out_sets);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free_scratch(&scratch);
    free_plan(&plan);
    release(&buffers);
    return result;
}

static PyObject *py_score_decision_lists(PyObject *self, PyObject *const *args,
                                         Py_ssize_t nargs) {
    (void)self;
    if (nargs != 15) {
        PyErr_SetString(PyExc_TypeError, "score_decision_lists takes 15 arguments");
        return NULL;
    }
    const int64_t n_rows = PyLong_AsLongLong(args[6]);
    const int64_t start = PyLong_AsLongLong(args[11]), stop = PyLong_AsLongLong(args[12]);
    const int64_t block = PyLong_AsLongLong(args[13]);
    if (PyErr_Occurred()) return NULL;
    Buffers buffers = {.count = 0};
    Table table;
    Conditions cond;
    Plan plan = {0};
    Scratch scratch = {0};
    PyObject *result = NULL;
    if (take_table(&buffers, args, n_rows, &table, &cond) ||
        take(&buffers, args[7], 2, 4, 0, "rules") || take(&buffers, args[8], 2, 4, 0, "lists") ||
        take(&buffers, args[9], 2, 8, 0, "classes") ||
        take(&buffers, args[10], 1, 8, 0, "mask") || take(&buffers, args[14], 3, 8, 1, "out"))
        goto done;
    if (make_plan(&table, VIEW(6).buf, SHAPE(6, 0), SHAPE(6, 1), &plan) ||
        make_scratch(&plan, &cond, block, 1, &scratch)) {
        PyErr_NoMemory();
        goto done;
    }
    const int32_t *lists = VIEW(7).buf;
    const int64_t n_lists = SHAPE(7, 0), list_width = SHAPE(7, 1);
    const uint64_t *classes = VIEW(8).buf, *mask = VIEW(9).buf;
    const int64_t n_classes = SHAPE(8, 0);
    int64_t *out = VIEW(10).buf;
    const int isa = active_isa;
    Py_BEGIN_ALLOW_THREADS
#ifdef LOOM_X86
    if (isa == ISA_AVX512)
        score_decision_lists_avx512(&table, &cond, &plan, lists, n_lists, list_width,
                                    classes, n_classes, mask, start, stop, block, &scratch,
                                    out);
    else if (isa == ISA_POPCNT)
        score_decision_lists_popcnt(&table, &cond, &plan, lists, n_lists, list_width,
                                    classes, n_classes, mask, start, stop, block, &scratch,
                                    out);
    else
#endif
        score_decision_lists_portable(&table, &cond, &plan, lists, n_lists, list_width,
                                      classes, n_classes, mask, start, stop, block,
                                      &scratch, out);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free_scratch(&scratch);
    free_plan(&plan);
    release(&buffers);
    return result;
}

static PyObject *py_cardinality(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 11) {
        PyErr_SetString(PyExc_TypeError, "cardinality takes 11 arguments");
        return NULL;
    }
    const int64_t n_rows = PyLong_AsLongLong(args[6]);
    const int64_t start = PyLong_AsLongLong(args[7]), stop = PyLong_AsLongLong(args[8]);
    if (PyErr_Occurred()) return NULL;
    Buffers buffers = {.count = 0};
    Table table;
    Conditions cond;
    uint64_t *block_rows = NULL;
    PyObject *result = NULL;
    if (take_table(&buffers, args, n_rows, &table, &cond) ||
        take(&buffers, args[9], 2, 8, 1, "out_true") ||
        take(&buffers, args[10], 2, 8, 1, "out_false"))
        goto done;
    block_rows = malloc(sizeof(uint64_t) * (size_t)(2 * cond.n + 1) * BLOCK_WORDS);
    if (!block_rows) {
        PyErr_NoMemory();
        goto done;
    }
    uint64_t *out_true = VIEW(6).buf, *out_false = VIEW(7).buf;
    const int isa = active_isa;
    Py_BEGIN_ALLOW_THREADS
    for (int64_t first = start; first < stop; first += BLOCK_WORDS) {
        const int64_t n = (stop - first < BLOCK_WORDS) ? stop - first : BLOCK_WORDS;
#ifdef LOOM_X86
        if (isa == ISA_AVX512)
            conditions_block_avx512(&table, &cond, first, first + n, block_rows, BLOCK_WORDS);
        else if (isa == ISA_POPCNT)
            conditions_block_popcnt(&table, &cond, first, first + n, block_rows, BLOCK_WORDS);
        else
#endif
            conditions_block_portable(&table, &cond, first, first + n, block_rows,
                                      BLOCK_WORDS);
        for (int64_t j = 0; j < cond.n; j++) {
            memcpy(out_true + j * table.n_words + first, block_rows + 2 * j * BLOCK_WORDS,
                   sizeof(uint64_t) * (size_t)n);
            memcpy(out_false + j * table.n_words + first,
                   block_rows + (2 * j + 1) * BLOCK_WORDS, sizeof(uint64_t) * (size_t)n);
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(block_rows);
    release(&buffers);
    return result;
}

static PyObject *py_xnor_gemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "xnor_gemm takes 6 arguments");
        return NULL;
    }
    const int64_t n_bits = PyLong_AsLongLong(args[2]);
    const int64_t row_start = PyLong_AsLongLong(args[3]), row_stop = PyLong_AsLongLong(args[4]);
    if (PyErr_Occurred()) return NULL;
    Buffers buffers = {.count = 0};
    PyObject *result = NULL;
    if (take(&buffers, args[0], 2, 8, 0, "a") || take(&buffers, args[1], 2, 8, 0, "b") ||
        take(&buffers, args[5], 2, 4, 1, "out"))
        goto done;
    const uint64_t *a = VIEW(0).buf, *b = VIEW(1).buf;
    const int64_t n_words = SHAPE(0, 1), n_b = SHAPE(1, 0);
    int32_t *out = VIEW(2).buf;
    const int isa = active_isa;
    Py_BEGIN_ALLOW_THREADS
#ifdef LOOM_X86
    if (isa == ISA_AVX512)
        xnor_gemm_tiled_avx512(a, b, n_b, n_words, n_bits, row_start, row_stop, out);
    else if (isa == ISA_POPCNT)
        xnor_gemm_popcnt(a, b, n_b, n_words, n_bits, row_start, row_stop, out);
    else
#endif
        xnor_gemm_portable(a, b, n_b, n_words, n_bits, row_start, row_stop, out);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
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
