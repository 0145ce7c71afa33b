/* An app on edgert's C API: loads MODEL (once from the file, once from memory), runs it on
 * THREADS threads at once, one session each, on the inputs IN_DIR/<input>.npy, and checks
 * every output equals OUT_DIR/<output>.npy (written by `edgert run`) bit for bit.
 * usage: consumer_c MODEL IN_DIR OUT_DIR THREADS */
#include <edgert/edgert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct npy {
  char* file; /* whole file */
  size_t size;
  const void* data; /* the elements */
  size_t bytes;
  int64_t dims[16];
  size_t rank;
} npy;

static int read_file(const char* path, char** out, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return 0;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  *out = malloc((size_t)(n > 0 ? n : 0) + 1);
  *size = fread(*out, 1, (size_t)n, f);
  (*out)[*size] = '\0';
  fclose(f);
  return *size == (size_t)n;
}

/* A float32 or int64 .npy as numpy writes it (format 1.0 to 3.0, C order). */
static int read_npy(const char* path, npy* a) {
  if (!read_file(path, &a->file, &a->size) || a->size < 12 || memcmp(a->file, "\x93NUMPY", 6) != 0) return 0;
  const unsigned char* p = (const unsigned char*)a->file;
  size_t hlen = p[6] == 1 ? (size_t)(p[8] | p[9] << 8) : (size_t)(p[8] | p[9] << 8 | p[10] << 16 | (size_t)p[11] << 24);
  size_t start = (p[6] == 1 ? 10 : 12) + hlen;
  if (start > a->size) return 0;
  const char* shape = strstr(a->file + 10, "'shape': ("); /* the header is text after byte 10 */
  if (!shape) return 0;
  shape += strlen("'shape': (");
  a->rank = 0;
  while (*shape != ')' && a->rank < 16) {
    char* end;
    long long d = strtoll(shape, &end, 10);
    if (end == shape) break;
    a->dims[a->rank++] = d;
    shape = end;
    while (*shape == ',' || *shape == ' ') ++shape;
  }
  a->data = a->file + start;
  a->bytes = a->size - start;
  return 1;
}

typedef struct job {
  const edgert_model* model;
  npy* inputs;
  npy* outputs;
  int runs;
  int failures;
} job;

static void* worker(void* arg) {
  job* j = (job*)arg;
  edgert_session* s = NULL;
  if (edgert_session_create(j->model, &s) != EDGERT_OK) {
    fprintf(stderr, "session: %s\n", edgert_last_error());
    j->failures++;
    return NULL;
  }
  for (int r = 0; r < j->runs; ++r) {
    for (size_t i = 0; i < edgert_model_input_count(j->model); ++i) {
      edgert_tensor t;
      edgert_model_input_info(j->model, i, &t); /* the declared dtype */
      t.rank = j->inputs[i].rank;
      t.dims = j->inputs[i].dims;
      t.data = (void*)j->inputs[i].data;
      t.byte_size = j->inputs[i].bytes;
      if (edgert_session_set_input(s, edgert_model_input_name(j->model, i), &t) != EDGERT_OK) {
        fprintf(stderr, "set_input: %s\n", edgert_last_error());
        j->failures++;
      }
    }
    if (edgert_session_run(s) != EDGERT_OK) {
      fprintf(stderr, "run: %s\n", edgert_last_error());
      j->failures++;
      continue;
    }
    for (size_t i = 0; i < edgert_model_output_count(j->model); ++i) {
      edgert_tensor y;
      if (edgert_session_get_output(s, edgert_model_output_name(j->model, i), &y) != EDGERT_OK ||
          y.byte_size != j->outputs[i].bytes || memcmp(y.data, j->outputs[i].data, y.byte_size) != 0) {
        fprintf(stderr, "output '%s' differs from edgert run's\n", edgert_model_output_name(j->model, i));
        j->failures++;
      }
    }
  }
  edgert_session_free(s);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s MODEL IN_DIR OUT_DIR THREADS\n", argv[0]);
    return 2;
  }
  const int threads = atoi(argv[4]);
  printf("edgert %s\n", edgert_version());

  /* A bad input gets its status and message, nothing else. */
  edgert_model* bad = NULL;
  edgert_status st = edgert_model_load_file("/nonexistent/model.onnx", NULL, &bad);
  if (st != EDGERT_IO || bad != NULL || strstr(edgert_last_error(), "/nonexistent/model.onnx") == NULL) {
    fprintf(stderr, "expected an I/O error, got %s: %s\n", edgert_status_string(st), edgert_last_error());
    return 1;
  }

  edgert_model_options opt = edgert_model_default_options();
  opt.num_threads = 2;
  edgert_model* from_file = NULL;
  if (edgert_model_load_file(argv[1], &opt, &from_file) != EDGERT_OK) {
    fprintf(stderr, "load: %s\n", edgert_last_error());
    return 1;
  }
  char* bytes = NULL;
  size_t size = 0;
  edgert_model* from_memory = NULL;
  if (!read_file(argv[1], &bytes, &size) || edgert_model_load_memory(bytes, size, &opt, &from_memory) != EDGERT_OK) {
    fprintf(stderr, "load from memory: %s\n", edgert_last_error());
    return 1;
  }
  free(bytes);

  const size_t n_in = edgert_model_input_count(from_file), n_out = edgert_model_output_count(from_file);
  npy inputs[8], outputs[8];
  char path[4096];
  for (size_t i = 0; i < n_in && i < 8; ++i) {
    snprintf(path, sizeof path, "%s/%s.npy", argv[2], edgert_model_input_name(from_file, i));
    if (!read_npy(path, &inputs[i])) {
      fprintf(stderr, "cannot read %s\n", path);
      return 1;
    }
  }
  for (size_t i = 0; i < n_out && i < 8; ++i) {
    snprintf(path, sizeof path, "%s/%s.npy", argv[3], edgert_model_output_name(from_file, i));
    if (!read_npy(path, &outputs[i])) {
      fprintf(stderr, "cannot read %s\n", path);
      return 1;
    }
  }

  job jobs[64];
  pthread_t tid[64];
  int failures = 0;
  for (int t = 0; t < threads && t < 64; ++t) {
    job j = {t % 2 ? from_memory : from_file, inputs, outputs, 3, 0};
    jobs[t] = j;
    pthread_create(&tid[t], NULL, worker, &jobs[t]);
  }
  for (int t = 0; t < threads && t < 64; ++t) {
    pthread_join(tid[t], NULL);
    failures += jobs[t].failures;
  }
  edgert_model_free(from_file);
  edgert_model_free(from_memory);
  for (size_t i = 0; i < n_in; ++i) free(inputs[i].file);
  for (size_t i = 0; i < n_out; ++i) free(outputs[i].file);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("C API: %d threads x 3 runs, %zu outputs equal edgert run's\n", threads, n_out);
  return 0;
}
