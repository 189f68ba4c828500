/* Scoring kernels, compiled once per instruction set.
 *
 * loom_kernels.c includes this file several times, each time with SUFFIX (a name
 * suffix) and TARGET (a function attribute naming the instruction set) defined, so the
 * same source becomes a portable variant and one that uses POPCNT or AVX-512
 * VPOPCNTDQ. The caller checks every array; these functions trust their arguments.
 */

#define JOIN_(a, b) a##b
#define JOIN(a, b) JOIN_(a, b)
#define NAME(base) JOIN(base, SUFFIX)

/* The rows of a rule ANDed over one block, then counted alone and with the target.
 * K and HAS_TARGET are compile-time constants at every call site, so the row loop
 * unrolls and the word loop vectorizes. */
static inline __attribute__((always_inline)) TARGET void NAME(fused_rule)(
    const uint64_t *const *rows, const int k, const uint64_t *target, const int has_target,
    const int64_t n, int64_t *count, int64_t *hits) {
    uint64_t total = 0, matched = 0;
    for (int64_t w = 0; w < n; w++) {
        uint64_t word = rows[0][w];
        for (int j = 1; j < k; j++) word &= rows[j][w];
        total += (uint64_t)__builtin_popcountll(word);
        if (has_target) matched += (uint64_t)__builtin_popcountll(word & target[w]);
    }
    *count += (int64_t)total;
    *hits += (int64_t)matched;
}

/* The rows of a rule ANDed into out over one block (k >= 1 rows). */
static TARGET void NAME(rule_vector)(const uint64_t *const *rows, const int k,
                                     const int64_t n, uint64_t *out) {
    const uint64_t *first = rows[0];
    for (int64_t w = 0; w < n; w++) out[w] = first[w];
    for (int j = 1; j < k; j++) {
        const uint64_t *row = rows[j];
        for (int64_t w = 0; w < n; w++) out[w] &= row[w];
    }
}

#define FUSED_CASE(K)                                                                   \
    case K:                                                                             \
        if (target)                                                                     \
            NAME(fused_rule)(rows, K, target, 1, n, count, hits);                       \
        else                                                                            \
            NAME(fused_rule)(rows, K, target, 0, n, count, hits);                       \
        break;

static TARGET uint64_t NAME(popcount_and)(const uint64_t *a, const uint64_t *b,
                                          const int64_t n);
static TARGET uint64_t NAME(popcount)(const uint64_t *a, const int64_t n);

/* Counts one rule given the k >= 1 rows to AND (its literals, and the mask if any);
 * target may be NULL. */
static TARGET void NAME(count_rule)(const uint64_t *const *rows, const int k,
                                    const uint64_t *target, const int64_t n,
                                    uint64_t *accumulator, int64_t *count, int64_t *hits) {
    switch (k) {
        FUSED_CASE(1)
        FUSED_CASE(2)
        FUSED_CASE(3)
        FUSED_CASE(4)
        FUSED_CASE(5)
        FUSED_CASE(6)
        FUSED_CASE(7)
        FUSED_CASE(8)
        FUSED_CASE(9)
    default:
        NAME(rule_vector)(rows, k, n, accumulator);
        *count += (int64_t)NAME(popcount)(accumulator, n);
        if (target) *hits += (int64_t)NAME(popcount_and)(accumulator, target, n);
    }
}
#undef FUSED_CASE

static TARGET uint64_t NAME(popcount_and)(
    const uint64_t *a, const uint64_t *b, const int64_t n) {
    uint64_t total = 0;
    for (int64_t w = 0; w < n; w++) total += (uint64_t)__builtin_popcountll(a[w] & b[w]);
    return total;
}

static TARGET uint64_t NAME(popcount)(const uint64_t *a, const int64_t n) {
    uint64_t total = 0;
    for (int64_t w = 0; w < n; w++) total += (uint64_t)__builtin_popcountll(a[w]);
    return total;
}

/* Bit-sliced counters: rows whose count (held as binary digits, low first) is >= k. */
static inline TARGET uint64_t NAME(at_least)(
    const uint64_t *planes, const int n_planes, const int64_t k, const uint64_t rows) {
    if (k <= 0) return rows;
    if (n_planes < 63 && k >= ((int64_t)1 << n_planes)) return 0;
    uint64_t greater = 0, equal = rows;
    for (int position = n_planes - 1; position >= 0; position--) {
        const uint64_t plane = planes[position];
        if ((k >> position) & 1) {
            equal &= plane;
        } else {
            greater |= equal & plane;
            equal &= ~plane;
        }
    }
    return greater | equal;
}

/* True rows to out[2j], false rows to out[2j + 1] (rows of out: stride words),
 * for the words first .. last - 1 of the table. */
static TARGET void NAME(conditions_block)(const Table *table, const Conditions *cond,
                                          const int64_t first, const int64_t last,
                                          uint64_t *out, const int64_t stride) {
    uint64_t planes_true[MAX_PLANES], planes_possible[MAX_PLANES];
    for (int64_t j = 0; j < cond->n; j++) {
        const int32_t *codes = cond->literals + j * cond->width;
        const int64_t bound = cond->bounds[j];
        const int kind = cond->kinds[j];
        for (int64_t word = first; word < last; word++) {
            const uint64_t rows = row_word(table->n_rows, word);
            int n_planes = 0;
            for (int64_t l = 0; l < cond->width; l++) {
                const int32_t code = codes[l];
                if (code < 0) continue;
                const int64_t column = code >> 1;
                const uint64_t set = table->bits[column * table->n_words + word];
                const uint64_t known =
                    table->valid[(int64_t)table->column_feature[column] * table->n_words +
                                 word];
                uint64_t carry_true, carry_possible;
                if (code & 1) {
                    carry_true = known & ~set;
                    carry_possible = rows & ~set;
                } else {
                    carry_true = set;
                    carry_possible = rows & (set | ~known);
                }
                for (int p = 0; p < n_planes; p++) {
                    const uint64_t plane_true = planes_true[p];
                    planes_true[p] = plane_true ^ carry_true;
                    carry_true &= plane_true;
                    const uint64_t plane_possible = planes_possible[p];
                    planes_possible[p] = plane_possible ^ carry_possible;
                    carry_possible &= plane_possible;
                }
                if (n_planes < MAX_PLANES) {
                    planes_true[n_planes] = carry_true;
                    planes_possible[n_planes] = carry_possible;
                    n_planes++;
                }
            }
            uint64_t true_rows, false_rows;
            if (kind == KIND_ATLEAST) {
                true_rows = NAME(at_least)(planes_true, n_planes, bound, rows);
                false_rows = rows & ~NAME(at_least)(planes_possible, n_planes, bound, rows);
            } else if (kind == KIND_ATMOST) {
                true_rows =
                    rows & ~NAME(at_least)(planes_possible, n_planes, bound + 1, rows);
                false_rows = NAME(at_least)(planes_true, n_planes, bound + 1, rows);
            } else {
                true_rows = NAME(at_least)(planes_true, n_planes, bound, rows) &
                            ~NAME(at_least)(planes_possible, n_planes, bound + 1, rows);
                false_rows =
                    NAME(at_least)(planes_true, n_planes, bound + 1, rows) |
                    (rows & ~NAME(at_least)(planes_possible, n_planes, bound, rows));
            }
            out[(2 * j) * stride + (word - first)] = true_rows;
            out[(2 * j + 1) * stride + (word - first)] = false_rows;
        }
    }
}

/* Negated columns of one block: valid & ~bits, one slab row per negated column. */
static TARGET void NAME(negations_block)(const Table *table, const Plan *plan,
                                         const int64_t first, const int64_t n,
                                         uint64_t *slab, const int64_t stride) {
    for (int64_t s = 0; s < plan->n_negated; s++) {
        const int64_t column = plan->negated_columns[s];
        const uint64_t *set = table->bits + column * table->n_words + first;
        const uint64_t *known =
            table->valid + (int64_t)table->column_feature[column] * table->n_words + first;
        uint64_t *out = slab + s * stride;
        for (int64_t w = 0; w < n; w++) out[w] = known[w] & ~set[w];
    }
}

/* The rows of the rows that exist, for one block: all ones but past the last row. */
static TARGET void NAME(all_rows_block)(const int64_t n_rows, const int64_t first,
                                        const int64_t n, uint64_t *out) {
    for (int64_t w = 0; w < n; w++) out[w] = row_word(n_rows, first + w);
}

/* Pointers to the rows rule r ANDs over the block starting at word first: its
 * literals, then the mask; a rule without literals and without a mask gets the rows
 * of the table. Returns how many (at least 1). */
static inline TARGET int NAME(rule_rows)(const Table *table, const Plan *plan,
                                         const int64_t r, const int64_t first,
                                         const uint64_t *mask, const Scratch *scratch,
                                         const int64_t stride, const uint64_t **rows) {
    const int32_t *codes = plan->rules + r * plan->width;
    int k = 0;
    for (int64_t l = 0; l < plan->width; l++) {
        const int32_t code = codes[l];
        if (code < 0) continue;
        const int64_t column = code >> 1;
        if (column >= table->n_columns) {
            const int64_t row = 2 * (column - table->n_columns) + (code & 1);
            rows[k++] = scratch->conditions + row * stride;
        } else if (code & 1) {
            rows[k++] = scratch->negations + (int64_t)plan->negated_slot[column] * stride;
        } else {
            rows[k++] = table->bits + column * table->n_words + first;
        }
    }
    if (mask)
        rows[k++] = mask + first;
    else if (k == 0)
        rows[k++] = scratch->all_rows;
    return k;
}

/* Conditions, negated columns and the table's rows for one block of scratch. */
static TARGET void NAME(prepare_block)(const Table *table, const Conditions *cond,
                                       const Plan *plan, const int64_t first,
                                       const int64_t n, const int64_t block,
                                       const int need_rows, Scratch *scratch) {
    NAME(conditions_block)(table, cond, first, first + n, scratch->conditions, block);
    NAME(negations_block)(table, plan, first, n, scratch->negations, block);
    if (plan->has_empty_rule || need_rows)
        NAME(all_rows_block)(table->n_rows, first, n, scratch->all_rows);
}

static TARGET void NAME(score_rules)(const Table *table, const Conditions *cond,
                                     const Plan *plan, const uint64_t *target,
                                     const uint64_t *mask, const int64_t start,
                                     const int64_t stop, const int64_t block,
                                     Scratch *scratch, int64_t *out) {
    for (int64_t first = start; first < stop; first += block) {
        const int64_t n = (stop - first < block) ? stop - first : block;
        NAME(prepare_block)(table, cond, plan, first, n, block, 0, scratch);
        const uint64_t *target_block = target ? target + first : NULL;
        for (int64_t r = 0; r < plan->n_rules; r++) {
            const int k =
                NAME(rule_rows)(table, plan, r, first, mask, scratch, block, scratch->rows);
            NAME(count_rule)(scratch->rows, k, target_block, n, scratch->accumulator,
                             out + 2 * r, out + 2 * r + 1);
        }
    }
}

/* Every rule's block vector (rows of scratch->vectors), for rule sets and lists. */
static TARGET void NAME(rule_vectors_block)(const Table *table, const Conditions *cond,
                                            const Plan *plan, const uint64_t *mask,
                                            const int64_t first, const int64_t n,
                                            const int64_t block, Scratch *scratch) {
    /* Decision lists start each block from the table's rows when there is no mask. */
    NAME(prepare_block)(table, cond, plan, first, n, block, mask == NULL, scratch);
    for (int64_t r = 0; r < plan->n_rules; r++) {
        const int k =
            NAME(rule_rows)(table, plan, r, first, mask, scratch, block, scratch->rows);
        NAME(rule_vector)(scratch->rows, k, n, scratch->vectors + r * block);
    }
}

static TARGET void NAME(score_rule_sets)(
    const Table *table, const Conditions *cond, const Plan *plan, const int32_t *sets,
    const int64_t n_sets, const int64_t set_width, const uint64_t *target,
    const uint64_t *mask, const int64_t start, const int64_t stop, const int64_t block,
    Scratch *scratch, int64_t *out_rules, int64_t *out_sets) {
    for (int64_t first = start; first < stop; first += block) {
        const int64_t n = (stop - first < block) ? stop - first : block;
        NAME(rule_vectors_block)(table, cond, plan, mask, first, n, block, scratch);
        for (int64_t r = 0; r < plan->n_rules; r++) {
            const uint64_t *vector = scratch->vectors + r * block;
            out_rules[2 * r] += (int64_t)NAME(popcount)(vector, n);
            if (target)
                out_rules[2 * r + 1] +=
                    (int64_t)NAME(popcount_and)(vector, target + first, n);
        }
        uint64_t *unions = scratch->accumulator;
        for (int64_t s = 0; s < n_sets; s++) {
            for (int64_t w = 0; w < n; w++) unions[w] = 0;
            for (int64_t m = 0; m < set_width; m++) {
                const int32_t r = sets[s * set_width + m];
                if (r < 0) continue;
                const uint64_t *vector = scratch->vectors + (int64_t)r * block;
                for (int64_t w = 0; w < n; w++) unions[w] |= vector[w];
            }
            out_sets[2 * s] += (int64_t)NAME(popcount)(unions, n);
            if (target)
                out_sets[2 * s + 1] += (int64_t)NAME(popcount_and)(unions, target + first, n);
        }
    }
}

static TARGET void NAME(score_decision_lists)(
    const Table *table, const Conditions *cond, const Plan *plan, const int32_t *lists,
    const int64_t n_lists, const int64_t list_width, const uint64_t *classes,
    const int64_t n_classes, const uint64_t *mask, const int64_t start,
    const int64_t stop, const int64_t block, Scratch *scratch, int64_t *out) {
    const int64_t positions = list_width + 1, stride = n_classes + 1;
    uint64_t *remaining = scratch->accumulator;
    uint64_t *matched = scratch->accumulator + block;
    for (int64_t first = start; first < stop; first += block) {
        const int64_t n = (stop - first < block) ? stop - first : block;
        NAME(rule_vectors_block)(table, cond, plan, mask, first, n, block, scratch);
        const uint64_t *rows = mask ? mask + first : scratch->all_rows;
        for (int64_t s = 0; s < n_lists; s++) {
            for (int64_t w = 0; w < n; w++) remaining[w] = rows[w];
            for (int64_t m = 0; m < positions; m++) {
                if (m < list_width) {
                    const int32_t r = lists[s * list_width + m];
                    if (r < 0) continue;
                    const uint64_t *vector = scratch->vectors + (int64_t)r * block;
                    for (int64_t w = 0; w < n; w++) {
                        matched[w] = vector[w] & remaining[w];
                        remaining[w] &= ~vector[w];
                    }
                } else {
                    for (int64_t w = 0; w < n; w++) matched[w] = remaining[w];
                }
                int64_t *cell = out + (s * positions + m) * stride;
                cell[0] += (int64_t)NAME(popcount)(matched, n);
                for (int64_t t = 0; t < n_classes; t++) {
                    const uint64_t *class_rows = classes + t * table->n_words + first;
                    cell[1 + t] += (int64_t)NAME(popcount_and)(matched, class_rows, n);
                }
            }
        }
    }
}

/* XNOR-popcount product, one output at a time with the words innermost. */
static TARGET void NAME(xnor_gemm)(const uint64_t *a, const uint64_t *b,
                                   const int64_t n_b, const int64_t n_words,
                                   const int64_t n_bits, const int64_t row_start,
                                   const int64_t row_stop, int32_t *out) {
    for (int64_t i = row_start; i < row_stop; i++) {
        const uint64_t *row = a + i * n_words;
        for (int64_t j = 0; j < n_b; j++) {
            const uint64_t *column = b + j * n_words;
            uint64_t differences = 0;
            for (int64_t w = 0; w < n_words; w++)
                differences += (uint64_t)__builtin_popcountll(row[w] ^ column[w]);
            out[i * n_b + j] = (int32_t)(n_bits - 2 * (int64_t)differences);
        }
    }
}

/* XNOR-popcount product compared with a threshold per row of B, written as bits: bit
 * j of out row i is set where n_bits - 2 * popcount(a[i] xor b[j]) >= thresholds[j]. */
static TARGET void NAME(xnor_threshold)(const uint64_t *a, const uint64_t *b,
                                        const int64_t n_b, const int64_t n_words,
                                        const int64_t n_bits, const int64_t *thresholds,
                                        const int64_t row_start, const int64_t row_stop,
                                        uint64_t *out, const int64_t out_words) {
    for (int64_t i = row_start; i < row_stop; i++) {
        const uint64_t *row = a + i * n_words;
        uint64_t *target = out + i * out_words;
        for (int64_t k = 0; k < out_words; k++) target[k] = 0;
        for (int64_t j = 0; j < n_b; j++) {
            const uint64_t *column = b + j * n_words;
            uint64_t differences = 0;
            for (int64_t w = 0; w < n_words; w++)
                differences += (uint64_t)__builtin_popcountll(row[w] ^ column[w]);
            if (n_bits - 2 * (int64_t)differences >= thresholds[j])
                target[j >> 6] |= (uint64_t)1 << (j & 63);
        }
    }
}

#undef NAME
#undef JOIN
#undef JOIN_
