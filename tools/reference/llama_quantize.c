// llama.cpp's llama-quantize as a library call, the reference for finetune4j's K-quant exports (gguf module,
// LlamaCppReferenceTest): quantizes the float32 GGUF IN to OUT as llama_ftype FTYPE with llama.cpp's default settings,
// as `llama-quantize IN OUT Q4_K_M` does; with IMATRIX, under that importance matrix, as `--imatrix` does. IMATRIX is
// finetune4j's dump of one (LlamaCppFixtureExport): per tensor, an int32 name length, the name, an int32 count and
// that many float32 column weights, little-endian.
// usage: llama_quantize IN OUT FTYPE [IMATRIX]   (FTYPE: 15 Q4_K_M, 17 Q5_K_M, 18 Q6_K)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "llama.h"

static struct llama_model_imatrix_data *read_imatrix(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    size_t n = 0, cap = 16;
    struct llama_model_imatrix_data *out = calloc(cap, sizeof *out);
    int32_t len;
    while (fread(&len, 4, 1, f) == 1) {
        char *name = calloc((size_t) len + 1, 1);
        int32_t count;
        if (fread(name, 1, (size_t) len, f) != (size_t) len || fread(&count, 4, 1, f) != 1) { perror(path); exit(1); }
        float *data = malloc(sizeof(float) * (size_t) count);
        if (fread(data, sizeof(float), (size_t) count, f) != (size_t) count) { perror(path); exit(1); }
        if (n + 1 >= cap) { cap *= 2; out = realloc(out, cap * sizeof *out); }
        out[n++] = (struct llama_model_imatrix_data) {name, data, (size_t) count};
    }
    out[n] = (struct llama_model_imatrix_data) {NULL, NULL, 0};
    fclose(f);
    return out;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: %s IN OUT FTYPE [IMATRIX]\n", argv[0]); return 2; }
    llama_backend_init();
    struct llama_model_quantize_params params = llama_model_quantize_default_params();
    params.ftype = (enum llama_ftype) atoi(argv[3]);
    params.nthread = 1;
    if (argc == 5) {
        params.imatrix = read_imatrix(argv[4]);
    }
    uint32_t failed = llama_model_quantize(argv[1], argv[2], &params);
    llama_backend_free();
    if (failed) { fprintf(stderr, "llama_model_quantize failed for %s\n", argv[1]); return 1; }
    return 0;
}
