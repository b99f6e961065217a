/* Expands one allelemesh index value (schema 3) into serialized VariantFrequency bytes.
 *
 * The format is documented (and written) by nodes/index/records.py:
 *
 *   value = codes | counts | variant | filters
 *
 * codes: one little-endian uint16 per group of the dataset: bits 2k..2k+1 the width of
 * count k (AC, AN, hom, het, hemi; 0 absent, 1 uint8, 2 uint16, 3 uint32), bit 10 a
 * source AF double follows the group's counts, bit 11 the group is in the record.
 * variant: the encoded VariantFrequency.variant field; filters: the rest.
 *
 * Output (protobuf, fields in number order): variant | dataset | counts (5) |
 * populations (6, one per present group after the total) | filters. Every count the
 * value holds is written, a 0 too; AF is AC/AN when both are given and AN > 0, else the
 * source's AF when stored. A value that does not parse raises ValueError (never reads
 * past its end).
 *
 * The protobuf field keys are not written here: set_keys() takes them once, at import,
 * from the generated descriptors (mesh.model.wire), the one place they are defined.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "format.h"
#include "varint.h"

/* The bits of a group's code this reader knows: the widths and the two flags. */
#define CODE_KNOWN_BITS (((1u << (2 * AM_COUNTS)) - 1) | AM_CODE_SOURCE_AF | AM_CODE_PRESENT)

static const Py_ssize_t WIDTH_BYTES[4] = {0, 1, 2, 4};
/* Field keys, in the order set_keys() takes them. */
enum { K_AC, K_AN, K_AF, K_HOM, K_HET, K_HEMI, K_VARIANT, K_COUNTS, K_POPULATIONS,
       K_POPULATION_COUNTS, K_COUNT };
static unsigned char KEYS[K_COUNT];
static int keys_set = 0;
static unsigned char COUNT_TAGS[AM_COUNTS];

static inline uint32_t read_le(const unsigned char *p, int width) {
    switch (width) {
    case 1:
        return p[0];
    case 2:
        return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
    default:
        return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
               ((uint32_t)p[3] << 24);
    }
}

static PyObject *bad_value(const char *why) {
    PyErr_Format(PyExc_ValueError, "stored value does not match the dataset's layout: %s", why);
    return NULL;
}

static PyObject *set_keys(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyBytes_Check(arg) || PyBytes_GET_SIZE(arg) != K_COUNT) {
        PyErr_Format(PyExc_ValueError, "set_keys: %d one-byte field keys", K_COUNT);
        return NULL;
    }
    const unsigned char *k = (const unsigned char *)PyBytes_AS_STRING(arg);
    for (int i = 0; i < K_COUNT; i++) {
        if (k[i] & 0x80) {
            PyErr_SetString(PyExc_ValueError, "set_keys: a field key over one byte");
            return NULL;
        }
        KEYS[i] = k[i];
    }
    const int count_keys[AM_COUNTS] = {K_AC, K_AN, K_HOM, K_HET, K_HEMI};
    for (int i = 0; i < AM_COUNTS; i++)
        COUNT_TAGS[i] = KEYS[count_keys[i]];
    keys_set = 1;
    Py_RETURN_NONE;
}

/* A growable output buffer (PyMem). */
typedef struct {
    unsigned char *data;
    Py_ssize_t len, cap;
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra)
        cap *= 2;
    unsigned char *data = PyMem_Realloc(b->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

/* A double as protobuf writes it (little-endian IEEE 754): a copy on such hosts. */
static inline void put_double(unsigned char *out, double value) {
#if PY_LITTLE_ENDIAN
    memcpy(out, &value, sizeof value);
#else
    PyFloat_Pack8(value, (char *)out, 1);
#endif
}

static inline double get_double(const unsigned char *in) {
#if PY_LITTLE_ENDIAN
    double value;
    memcpy(&value, in, sizeof value);
    return value;
#else
    return PyFloat_Unpack8((const char *)in, 1);
#endif
}

/* One dataset's layout: what expand() and frame_batch() take first. */
typedef struct {
    Py_ssize_t groups;
    PyObject *dataset, *labels, *suffix;
} Layout;

static int parse_layout(const char *name, PyObject *const *args, Layout *layout) {
    if (!keys_set) {
        PyErr_Format(PyExc_RuntimeError, "%s: set_keys() has not been called", name);
        return -1;
    }
    layout->groups = PyLong_AsSsize_t(args[0]);
    if (layout->groups == -1 && PyErr_Occurred())
        return -1;
    layout->dataset = args[1];
    layout->labels = args[2];
    layout->suffix = args[3];
    if (!PyBytes_Check(layout->dataset) || !PyTuple_Check(layout->labels) ||
        !PyBytes_Check(layout->suffix) || PyTuple_GET_SIZE(layout->labels) != layout->groups ||
        layout->groups < 1) {
        PyErr_Format(PyExc_TypeError, "%s: dataset bytes, labels tuple of groups, suffix bytes",
                     name);
        return -1;
    }
    return 0;
}

/* Appends the expansion of one value to out; the total's counts to total. 0, or -1 with
 * an exception set (out->len unchanged). */
static int expand_into(const Layout *layout, const unsigned char *v, const Py_ssize_t len,
                       Buf *out, uint32_t total[AM_COUNTS]) {
    const Py_ssize_t groups = layout->groups;
    PyObject *const labels = layout->labels;
    for (int k = 0; k < AM_COUNTS; k++)
        total[k] = AM_ABSENT;
    const Py_ssize_t codes_len = 2 * groups;
    if (len < codes_len) {
        bad_value("shorter than its group codes");
        return -1;
    }
    /* Pass 1: the size of the counts and an upper bound of the output. */
    Py_ssize_t counts_len = 0, bound = PyBytes_GET_SIZE(layout->dataset);
    const Py_ssize_t suffix_len = PyBytes_GET_SIZE(layout->suffix);
    for (Py_ssize_t g = 0; g < groups; g++) {
        unsigned code = (unsigned)v[2 * g] | ((unsigned)v[2 * g + 1] << 8);
        if (code & ~CODE_KNOWN_BITS) {
            bad_value("unknown group code bits");
            return -1;
        }
        if (!(code & AM_CODE_PRESENT)) {
            if (g == 0) {
                bad_value("no total counts");
                return -1;
            }
            continue;
        }
        for (int k = 0; k < AM_COUNTS; k++)
            counts_len += WIDTH_BYTES[(code >> (2 * k)) & 3];
        if (code & AM_CODE_SOURCE_AF)
            counts_len += 8;
        PyObject *label = PyTuple_GET_ITEM(labels, g);
        if (!PyBytes_Check(label)) {
            PyErr_SetString(PyExc_TypeError, "expand: labels must be bytes");
            return -1;
        }
        /* tag + len(5) + label + tag + len(1) + body (5 counts of 6, AF of 9, suffix) */
        bound += 1 + 5 + PyBytes_GET_SIZE(label) + 2 + 5 * 6 + 9 + suffix_len;
    }
    Py_ssize_t pos = codes_len + counts_len;
    /* The variant field: its key, varint length, body. */
    if (pos + 2 > len || v[pos] != KEYS[K_VARIANT]) {
        bad_value("no variant after the counts");
        return -1;
    }
    uint64_t variant_len = 0;
    Py_ssize_t i = pos + 1;
    for (int shift = 0;; shift += 7) {
        if (i >= len || shift > 28) {
            bad_value("bad variant length");
            return -1;
        }
        unsigned char b = v[i++];
        variant_len |= (uint64_t)(b & 0x7F) << shift;
        if (b < 0x80)
            break;
    }
    if ((uint64_t)(len - i) < variant_len) {
        bad_value("variant runs past the end");
        return -1;
    }
    const Py_ssize_t variant_end = i + (Py_ssize_t)variant_len;
    bound += len - pos;
    if (buf_reserve(out, bound) < 0)
        return -1;

    unsigned char *const start = out->data + out->len;
    unsigned char *o = start;
    memcpy(o, v + pos, (size_t)(variant_end - pos));
    o += variant_end - pos;
    memcpy(o, PyBytes_AS_STRING(layout->dataset), (size_t)PyBytes_GET_SIZE(layout->dataset));
    o += PyBytes_GET_SIZE(layout->dataset);

    /* Pass 2: every present group's counts, encoded. */
    const unsigned char *p = v + codes_len;
    const char *suffix_data = PyBytes_AS_STRING(layout->suffix);
    /* the longest body: five counts of tag + 5-byte varint, an AF, the suffix */
    const Py_ssize_t max_body = 5 * 6 + 9 + suffix_len;
    unsigned char body[5 * 6 + 9 + 64];
    unsigned char *body_buf = body;
    unsigned char *heap = NULL;
    if (suffix_len > 64) {
        heap = PyMem_Malloc((size_t)(5 * 6 + 9 + suffix_len));
        if (heap == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        body_buf = heap;
    }
    for (Py_ssize_t g = 0; g < groups; g++) {
        unsigned code = (unsigned)v[2 * g] | ((unsigned)v[2 * g + 1] << 8);
        if (!(code & AM_CODE_PRESENT))
            continue;
        uint32_t counts[AM_COUNTS];
        for (int k = 0; k < AM_COUNTS; k++) {
            int width = (code >> (2 * k)) & 3;
            if (width == 0) {
                counts[k] = AM_ABSENT;
            } else {
                int bytes = (int)WIDTH_BYTES[width];
                counts[k] = read_le(p, bytes);
                p += bytes;
                if (counts[k] == AM_ABSENT) {
                    PyMem_Free(heap);
                    bad_value("a count of 2**32 - 1");
                    return -1;
                }
            }
        }
        int has_af = (code & AM_CODE_SOURCE_AF) != 0;
        double source_af = 0.0;
        if (has_af) {
            source_af = get_double(p);
            p += 8;
        }
        /* The body: counts in field order, AF after AN. Written in place when its length
         * and the population's are sure to take one byte each (then the header is filled
         * in after), else into body_buf and copied after the header. */
        PyObject *const label = g ? PyTuple_GET_ITEM(labels, g) : NULL;
        const Py_ssize_t label_len = g ? PyBytes_GET_SIZE(label) : 0;
        const int direct = (g ? label_len + 2 : 0) + max_body < 128;
        const Py_ssize_t head = g ? 2 + label_len + 2 : 2;
        unsigned char *const body_start = direct ? o + head : body_buf;
        unsigned char *b = body_start;
        int af_written = 0;
        for (int k = 0; k < AM_COUNTS; k++) {
            if (k == 2 && !af_written) {
                if (counts[0] != AM_ABSENT && counts[1] != AM_ABSENT && counts[1] != 0) {
                    *b++ = KEYS[K_AF];
                    put_double(b, (double)counts[0] / (double)counts[1]);
                    b += 8;
                } else if (has_af) {
                    *b++ = KEYS[K_AF];
                    put_double(b, source_af);
                    b += 8;
                }
                af_written = 1;
            }
            if (counts[k] == AM_ABSENT)
                continue;
            *b++ = COUNT_TAGS[k];
            b = put_varint(b, counts[k]);
        }
        memcpy(b, suffix_data, (size_t)suffix_len);
        b += suffix_len;
        const Py_ssize_t body_len = b - body_start;
        if (g == 0)
            memcpy(total, counts, 5 * sizeof(uint32_t));
        if (direct) {
            if (g == 0) {
                o[0] = KEYS[K_COUNTS];
                o[1] = (unsigned char)body_len;
            } else {
                o[0] = KEYS[K_POPULATIONS];
                o[1] = (unsigned char)(label_len + 2 + body_len);
                memcpy(o + 2, PyBytes_AS_STRING(label), (size_t)label_len);
                o[2 + label_len] = KEYS[K_POPULATION_COUNTS];
                o[3 + label_len] = (unsigned char)body_len;
            }
            o += head + body_len;
            continue;
        }
        if (g == 0) {
            *o++ = KEYS[K_COUNTS];
            o = put_varint(o, (uint64_t)body_len);
        } else {
            const Py_ssize_t inner = label_len + 1 + varint_len((uint64_t)body_len) + body_len;
            *o++ = KEYS[K_POPULATIONS];
            o = put_varint(o, (uint64_t)inner);
            memcpy(o, PyBytes_AS_STRING(label), (size_t)label_len);
            o += label_len;
            *o++ = KEYS[K_POPULATION_COUNTS];
            o = put_varint(o, (uint64_t)body_len);
        }
        memcpy(o, body_buf, (size_t)body_len);
        o += body_len;
    }
    PyMem_Free(heap);
    memcpy(o, v + variant_end, (size_t)(len - variant_end));
    o += len - variant_end;
    out->len += o - start;
    return 0;
}

static PyObject *expand(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "expand(groups, dataset, labels, suffix, value)");
        return NULL;
    }
    Layout layout;
    if (parse_layout("expand", args, &layout) < 0)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[4], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *result = NULL;
    uint32_t total[AM_COUNTS];
    Buf out = {NULL, 0, 0};
    if (expand_into(&layout, (const unsigned char *)view.buf, view.len, &out, total) == 0) {
        PyObject *out_bytes = PyBytes_FromStringAndSize((const char *)out.data, out.len);
        if (out_bytes != NULL) {
            result = Py_BuildValue("(N(kkkkk))", out_bytes, (unsigned long)total[0],
                                   (unsigned long)total[1], (unsigned long)total[2],
                                   (unsigned long)total[3], (unsigned long)total[4]);
        }
    }
    PyMem_Free(out.data);
    PyBuffer_Release(&view);
    return result;
}

/* frame_batch(): the framing keys, in the order set_batch_keys() takes them. */
enum { B_RESULTS, B_RESULT_VARIANT, B_RESULT_FREQUENCIES, B_COUNT };
static unsigned char BATCH_KEYS[B_COUNT];
static int batch_keys_set = 0;
#define POOLED_CACHE_MAX 65536
/* frame_batch's buffer, kept between calls up to this size (a 1,000-variant answer ~1 MB) */
#define SCRATCH_KEPT (8 << 20)
static Buf scratch_out;
static int scratch_busy = 0;

static PyObject *set_batch_keys(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyBytes_Check(arg) || PyBytes_GET_SIZE(arg) != B_COUNT) {
        PyErr_Format(PyExc_ValueError, "set_batch_keys: %d one-byte field keys", B_COUNT);
        return NULL;
    }
    const unsigned char *k = (const unsigned char *)PyBytes_AS_STRING(arg);
    for (int i = 0; i < B_COUNT; i++) {
        if (k[i] & 0x80) {
            PyErr_SetString(PyExc_ValueError, "set_batch_keys: a field key over one byte");
            return NULL;
        }
        BATCH_KEYS[i] = k[i];
    }
    batch_keys_set = 1;
    Py_RETURN_NONE;
}

/* The encoded pooled field of a total: from the cache (keyed by the 20 bytes of the
 * total), else pool(total tuple), cached. A new reference, or NULL. */
static PyObject *pooled_field(PyObject *cache, PyObject *pool, const uint32_t total[AM_COUNTS]) {
    PyObject *key = PyBytes_FromStringAndSize((const char *)total, 5 * sizeof(uint32_t));
    if (key == NULL)
        return NULL;
    PyObject *pooled = PyDict_GetItemWithError(cache, key);
    if (pooled != NULL) {
        Py_INCREF(pooled);
        Py_DECREF(key);
        return pooled;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    PyObject *counts = Py_BuildValue("(kkkkk)", (unsigned long)total[0], (unsigned long)total[1],
                                     (unsigned long)total[2], (unsigned long)total[3],
                                     (unsigned long)total[4]);
    if (counts != NULL) {
        pooled = PyObject_CallOneArg(pool, counts);
        Py_DECREF(counts);
    }
    if (pooled != NULL && !PyBytes_Check(pooled)) {
        PyErr_SetString(PyExc_TypeError, "frame_batch: pool() must return bytes");
        Py_CLEAR(pooled);
    }
    if (pooled != NULL) {
        if (PyDict_GET_SIZE(cache) >= POOLED_CACHE_MAX)
            PyDict_Clear(cache);
        if (PyDict_SetItem(cache, key, pooled) < 0)
            Py_CLEAR(pooled);
    }
    Py_DECREF(key);
    return pooled;
}

static int put_bytes(Buf *b, PyObject *bytes) {
    const Py_ssize_t n = PyBytes_GET_SIZE(bytes);
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, PyBytes_AS_STRING(bytes), (size_t)n);
    b->len += n;
    return 0;
}

static PyObject *frame_batch(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError,
                        "frame_batch(groups, dataset, labels, suffix, get, keys, echoes, "
                        "node_suffix, pooled_cache, pool, nothing_pooled, trailer)");
        return NULL;
    }
    if (!batch_keys_set) {
        PyErr_SetString(PyExc_RuntimeError, "frame_batch: set_batch_keys() has not been called");
        return NULL;
    }
    Layout layout;
    if (parse_layout("frame_batch", args, &layout) < 0)
        return NULL;
    PyObject *get = args[4], *keys = args[5], *echoes = args[6], *node_suffix = args[7];
    PyObject *cache = args[8], *pool = args[9], *nothing = args[10], *trailer = args[11];
    if (!PyList_Check(keys) || !PyList_Check(echoes) ||
        PyList_GET_SIZE(keys) != PyList_GET_SIZE(echoes) || !PyBytes_Check(node_suffix) ||
        !PyDict_Check(cache) || !PyBytes_Check(nothing)) {
        PyErr_SetString(PyExc_TypeError,
                        "frame_batch: keys and echoes lists of one length, node_suffix bytes, "
                        "pooled_cache dict, nothing_pooled bytes");
        return NULL;
    }
    const Py_ssize_t rows = PyList_GET_SIZE(keys);
    const Py_ssize_t node_suffix_len = PyBytes_GET_SIZE(node_suffix);
    const Py_ssize_t nothing_len = PyBytes_GET_SIZE(nothing);
    /* The working buffer of the last call, kept: a ~1 MB answer grown afresh each call
     * costs more in page faults than the framing (a nested call gets its own). */
    const int reuse = !scratch_busy;
    Buf out = {NULL, 0, 0};
    if (reuse) {
        scratch_busy = 1;
        out = scratch_out;
        out.len = 0;
    }
    PyObject *result = NULL;
    Py_ssize_t found = 0;
    for (Py_ssize_t row = 0; row < rows; row++) {
        PyObject *echo = PyList_GET_ITEM(echoes, row);
        if (!PyBytes_Check(echo)) {
            PyErr_SetString(PyExc_TypeError, "frame_batch: echoes must be bytes");
            goto done;
        }
        const Py_ssize_t echo_len = PyBytes_GET_SIZE(echo);
        PyObject *value = PyObject_CallOneArg(get, PyList_GET_ITEM(keys, row));
        if (value == NULL)
            goto done;
        /* A result: RESULTS key, size, the variant echoed, then the frequency (expansion
         * and node suffix) and pooled, or the nothing-found pooled. */
        const Py_ssize_t row_start = out.len;
        const Py_ssize_t echo_part = 1 + varint_len((uint64_t)echo_len) + echo_len;
        Py_ssize_t size, frequency_len = 0, header;
        PyObject *pooled = NULL;
        if (value == Py_None) {
            Py_DECREF(value);
            size = echo_part + nothing_len;
            header = 1 + varint_len((uint64_t)size) + echo_part;
            if (buf_reserve(&out, header + nothing_len) < 0)
                goto done;
            memcpy(out.data + row_start + header, PyBytes_AS_STRING(nothing), (size_t)nothing_len);
            out.len = row_start + header + nothing_len;
        } else {
            /* Expanded in place, after room for a header whose two varints are assumed to
             * take 2 bytes each (a ~1 KB result); moved only when they do not. */
            const Py_ssize_t assumed = 1 + 2 + echo_part + 1 + 2;
            Py_buffer view;
            int failed = buf_reserve(&out, assumed) < 0 ||
                         PyObject_GetBuffer(value, &view, PyBUF_SIMPLE) < 0;
            Py_DECREF(value);
            if (failed)
                goto done;
            uint32_t total[AM_COUNTS];
            out.len = row_start + assumed;
            failed = expand_into(&layout, (const unsigned char *)view.buf, view.len, &out, total);
            PyBuffer_Release(&view);
            if (failed < 0)
                goto done;
            pooled = pooled_field(cache, pool, total);
            if (pooled == NULL)
                goto done;
            const Py_ssize_t expanded = out.len - (row_start + assumed);
            const Py_ssize_t pooled_len = PyBytes_GET_SIZE(pooled);
            frequency_len = expanded + node_suffix_len;
            size = echo_part + 1 + varint_len((uint64_t)frequency_len) + frequency_len + pooled_len;
            header = 1 + varint_len((uint64_t)size) + echo_part + 1 +
                     varint_len((uint64_t)frequency_len);
            if (buf_reserve(&out, (header > assumed ? header - assumed : 0) + node_suffix_len +
                                      pooled_len) < 0) {
                Py_DECREF(pooled);
                goto done;
            }
            unsigned char *o = out.data + row_start + header;
            if (header != assumed)
                memmove(o, out.data + row_start + assumed, (size_t)expanded);
            o += expanded;
            memcpy(o, PyBytes_AS_STRING(node_suffix), (size_t)node_suffix_len);
            o += node_suffix_len;
            memcpy(o, PyBytes_AS_STRING(pooled), (size_t)pooled_len);
            o += pooled_len;
            Py_DECREF(pooled);
            out.len = o - out.data;
            found++;
        }
        unsigned char *o = out.data + row_start;
        *o++ = BATCH_KEYS[B_RESULTS];
        o = put_varint(o, (uint64_t)size);
        *o++ = BATCH_KEYS[B_RESULT_VARIANT];
        o = put_varint(o, (uint64_t)echo_len);
        memcpy(o, PyBytes_AS_STRING(echo), (size_t)echo_len);
        o += echo_len;
        if (frequency_len > 0) {
            *o++ = BATCH_KEYS[B_RESULT_FREQUENCIES];
            put_varint(o, (uint64_t)frequency_len);
        }
    }
    if (trailer != Py_None) {
        PyObject *count = PyLong_FromSsize_t(found);
        if (count == NULL)
            goto done;
        PyObject *tail = PyObject_CallOneArg(trailer, count);
        Py_DECREF(count);
        if (tail == NULL)
            goto done;
        int failed = !PyBytes_Check(tail);
        if (failed)
            PyErr_SetString(PyExc_TypeError, "frame_batch: trailer() must return bytes");
        else
            failed = put_bytes(&out, tail) < 0;
        Py_DECREF(tail);
        if (failed)
            goto done;
    }
    {
        PyObject *payload = PyBytes_FromStringAndSize((const char *)out.data, out.len);
        if (payload != NULL)
            result = Py_BuildValue("(Nn)", payload, found);
    }
done:
    if (reuse) {
        if (out.cap > SCRATCH_KEPT) { /* a huge batch: not kept */
            PyMem_Free(out.data);
            out.data = NULL;
            out.cap = 0;
        }
        scratch_out = out;
        scratch_busy = 0;
    } else {
        PyMem_Free(out.data);
    }
    return result;
}

/* _keys.c */
PyObject *batch_keys(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

static PyMethodDef methods[] = {
    {"set_keys", (PyCFunction)set_keys, METH_O,
     "set_keys(keys) -> None: the one-byte protobuf field keys, from the descriptors"},
    {"expand", (PyCFunction)(void (*)(void))expand, METH_FASTCALL,
     "expand(groups, dataset, labels, suffix, value) -> (VariantFrequency bytes, total counts)"},
    {"set_batch_keys", (PyCFunction)set_batch_keys, METH_O,
     "set_batch_keys(keys) -> None: the batch result framing keys, from the descriptors"},
    {"frame_batch", (PyCFunction)(void (*)(void))frame_batch, METH_FASTCALL,
     "frame_batch(groups, dataset, labels, suffix, get, keys, echoes, node_suffix, "
     "pooled_cache, pool, nothing_pooled, trailer) -> (framed results bytes, found)"},
    {"batch_keys", (PyCFunction)(void (*)(void))batch_keys, METH_FASTCALL,
     "batch_keys(request, table) -> (keys, echoes, rest) | None: the index keys and echoes "
     "of a serialized BatchLookupVariantsRequest's variants"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "allelemesh_codec._codec",
                                    "Expands allelemesh index values (schema 3).", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__codec(void) { return PyModule_Create(&module); }
