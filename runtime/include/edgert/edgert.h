/* edgert C API (C99).
 *
 * Objects
 *   edgert_model    an ONNX model loaded, checked and prepared once (BatchNormalization
 *                   folded, weights packed). Immutable after load: one model may be shared by
 *                   any number of sessions on any number of threads at once.
 *   edgert_session  the state of runs of one model: inputs, activation arena, outputs, and a
 *                   thread pool of options.num_threads threads. Use a session from one thread
 *                   at a time (one session per thread); sessions never share mutable state.
 *
 * Errors
 *   Every call that can fail returns an edgert_status; EDGERT_OK is 0. The message of the last
 *   call made on the calling thread is in edgert_last_error(): a one-line text naming what is
 *   wrong and where ("'m.onnx': node 'conv1' (Conv): input 'w' names nothing"), or "" when
 *   that call succeeded. No call aborts, throws or prints on bad input.
 *
 * Ownership
 *   create/free pairs: every object a call returns through an `out` pointer is owned by the
 *   caller and released with its free function; free functions accept NULL. On failure the
 *   `out` object is set to NULL. Strings returned as `const char*` are owned by the library
 *   and stay valid as the text of each call says.
 *
 * Link with -ledgert (pkg-config edgert, or CMake find_package(edgert) and edgert::edgert).
 */
#ifndef EDGERT_EDGERT_H
#define EDGERT_EDGERT_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define EDGERT_API
#else
#define EDGERT_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status of a call. The numbers are stable. In C++ the type is int-based, as in C, so any
   int a C caller passes (edgert_status_string takes unknown ones) is a valid value. */
typedef enum edgert_status
#ifdef __cplusplus
    : int
#endif
{
  EDGERT_OK = 0,
  EDGERT_INVALID_ARGUMENT = 1, /* the caller passed something unusable (NULL, unknown name, ...) */
  EDGERT_IO = 2,               /* a file could not be read */
  EDGERT_PARSE = 3,            /* the model is malformed (truncated, not protobuf, bad graph) */
  EDGERT_UNSUPPORTED = 4,      /* a valid model uses an operator or form edgert lacks */
  EDGERT_SHAPE = 5,            /* shapes or element types disagree */
  EDGERT_OUT_OF_MEMORY = 6,    /* a model, tensor or graph beyond the limits, or no memory */
  EDGERT_INTERNAL = 7          /* a bug in edgert */
} edgert_status;

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum edgert_dtype {
  EDGERT_DTYPE_UNDEFINED = 0,
  EDGERT_DTYPE_FLOAT32 = 1,
  EDGERT_DTYPE_UINT8 = 2,
  EDGERT_DTYPE_INT8 = 3,
  EDGERT_DTYPE_UINT16 = 4,
  EDGERT_DTYPE_INT16 = 5,
  EDGERT_DTYPE_INT32 = 6,
  EDGERT_DTYPE_INT64 = 7,
  EDGERT_DTYPE_BOOL = 9,
  EDGERT_DTYPE_FLOAT16 = 10,
  EDGERT_DTYPE_FLOAT64 = 11,
  EDGERT_DTYPE_UINT32 = 12,
  EDGERT_DTYPE_UINT64 = 13,
  EDGERT_DTYPE_BFLOAT16 = 16
} edgert_dtype;

/* Kernel tiers; EDGERT_ISA_AUTO picks the best the CPU supports. */
typedef enum edgert_isa {
  EDGERT_ISA_AUTO = -1,
  EDGERT_ISA_SCALAR = 0,
  EDGERT_ISA_SSE2 = 1,
  EDGERT_ISA_AVX2 = 2,
  EDGERT_ISA_AVX512 = 3,
  EDGERT_ISA_NEON = 4
} edgert_isa;

/* A tensor as plain data: element type, shape and a pointer to dense row-major elements.
 * Who owns `dims` and `data` is written at each call that takes or fills one. */
typedef struct edgert_tensor {
  int32_t dtype;        /* an edgert_dtype */
  size_t rank;          /* number of dims; 0 for a scalar */
  const int64_t* dims;  /* rank sizes (-1 for a free dim in edgert_model_input_info) */
  void* data;           /* the elements; NULL describes a shape only */
  size_t byte_size;     /* bytes at data: product(dims) * element size */
} edgert_tensor;

/* Options of a model and of the sessions made from it. Always start from
 * edgert_model_default_options(): it sets struct_size, which lets later versions of the
 * library add fields while programs built against this header keep working. */
typedef struct edgert_model_options {
  size_t struct_size;         /* sizeof(edgert_model_options) as the caller knows it */
  int32_t num_threads;        /* threads per session run, the caller's included; 0: one per core */
  int32_t fold_batchnorm;     /* nonzero: fold BatchNormalization into neighbouring weights */
  int32_t max_isa;            /* an edgert_isa: highest kernel tier to use */
  uint64_t max_model_bytes;   /* refuse model files larger than this */
  uint64_t max_tensor_bytes;  /* refuse any one tensor (weights, inputs, activations) larger */
  uint64_t max_nodes;         /* refuse graphs with more nodes */
} edgert_model_options;

typedef struct edgert_model edgert_model;
typedef struct edgert_session edgert_session;

/* The library's version, e.g. "0.1.0". Static storage. */
EDGERT_API const char* edgert_version(void);

/* A short name of a status ("ok", "invalid argument", "parse error", ...). Static storage;
 * "unknown status" for a value outside the enum. */
EDGERT_API const char* edgert_status_string(edgert_status status);

/* The message of the last call made on the calling thread: "" if it succeeded. Valid until
 * the calling thread's next edgert_* call. Never NULL. */
EDGERT_API const char* edgert_last_error(void);

/* Defaults: one thread, folding on, the best ISA, 2 GiB models, 4 GiB tensors, 2^20 nodes. */
EDGERT_API edgert_model_options edgert_model_default_options(void);

/* Loads the ONNX model file at `path` (external data is read from the file's folder and may
 * not leave it). `options` may be NULL for the defaults; it is read during the call only.
 * On success *out is a new model the caller frees with edgert_model_free. */
EDGERT_API edgert_status edgert_model_load_file(const char* path, const edgert_model_options* options,
                                                edgert_model** out);

/* Loads an ONNX model from `size` bytes at `data`, which are read during the call only (the
 * model keeps no pointer into them). Models with external data are refused. */
EDGERT_API edgert_status edgert_model_load_memory(const void* data, size_t size, const edgert_model_options* options,
                                                  edgert_model** out);

/* Frees a model. Sessions made from it keep it alive until the last of them is freed, so the
 * model may be freed first. NULL is ignored. */
EDGERT_API void edgert_model_free(edgert_model* model);

/* The graph's inputs and outputs, in the model's order. Names are owned by the model and valid
 * until it is freed; NULL for an index out of range or a NULL model (counts are then 0). */
EDGERT_API size_t edgert_model_input_count(const edgert_model* model);
EDGERT_API const char* edgert_model_input_name(const edgert_model* model, size_t index);
EDGERT_API size_t edgert_model_output_count(const edgert_model* model);
EDGERT_API const char* edgert_model_output_name(const edgert_model* model, size_t index);

/* The declared element type and shape of input `index`: dims of -1 are free (any size), rank
 * and dims describe no shape when the model declares none (rank 0, dims NULL, dtype may be
 * UNDEFINED). `out->dims` points into the model, valid until it is freed; `out->data` is NULL.
 */
EDGERT_API edgert_status edgert_model_input_info(const edgert_model* model, size_t index, edgert_tensor* out);
/* Same for output `index`; dims the model cannot know before a run are -1. */
EDGERT_API edgert_status edgert_model_output_info(const edgert_model* model, size_t index, edgert_tensor* out);

/* A new session of `model` (which stays alive as long as the session does). */
EDGERT_API edgert_status edgert_session_create(const edgert_model* model, edgert_session** out);

/* Frees a session and its outputs. NULL is ignored. */
EDGERT_API void edgert_session_free(edgert_session* session);

/* Copies `tensor` in as the input named `name`: its dtype must be the model's, its rank and
 * fixed dims too; free dims take the sizes given. tensor->dims and tensor->data are read
 * during the call only; byte_size must equal product(dims) * element size. An input keeps its
 * value for every later run until set again. */
EDGERT_API edgert_status edgert_session_set_input(edgert_session* session, const char* name,
                                                  const edgert_tensor* tensor);

/* Runs the model on the inputs set. Every input the model has no default for must be set.
 * On failure the outputs of earlier runs are gone. */
EDGERT_API edgert_status edgert_session_run(edgert_session* session);

/* Describes output `name` of the last successful run in *out: dims and data point into the
 * session and stay valid until the session's next edgert_session_run or edgert_session_free.
 * The caller may read and write the elements but must not free them. */
EDGERT_API edgert_status edgert_session_get_output(edgert_session* session, const char* name, edgert_tensor* out);

#ifdef __cplusplus
}
#endif

#endif /* EDGERT_EDGERT_H */
