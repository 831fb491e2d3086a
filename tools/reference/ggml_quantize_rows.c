// ggml's own quantizers as the reference for finetune4j's block encoders (gguf module, KQuantsTest): quantizes the
// float32 rows of ROWS (n_per_row values each, little-endian) to each named type with ggml_quantize_chunk, and
// writes OUT/<type>.bin (the blocks) and OUT/<type>.f32 (ggml's dequantization of them). Without --imatrix these are
// the reference quantizers llama-quantize runs; with --imatrix W (n_per_row float32 column weights, as llama-quantize
// passes an importance matrix's entry) the weighted ones, written as OUT/<type>.imatrix.bin and .imatrix.f32.
// usage: ggml_quantize_rows ROWS N_PER_ROW OUT [--imatrix W] TYPE...   (TYPE: q4_K q5_K q6_K q5_0 q5_1 q8_0 iq4_nl iq4_xs)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ggml.h"

static void *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    *size = (size_t) ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc(*size);
    if (fread(data, 1, *size, f) != *size) { perror(path); exit(1); }
    fclose(f);
    return data;
}

static void write_all(const char *dir, const char *name, const char *ext, const void *data, size_t size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) { perror(path); exit(1); }
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: %s ROWS N_PER_ROW OUT TYPE...\n", argv[0]); return 2; }
    size_t size;
    float *rows = read_all(argv[1], &size);
    int64_t n_per_row = atoll(argv[2]);
    int64_t nrows = (int64_t) (size / sizeof(float)) / n_per_row;
    const float *imatrix = NULL;
    int first = 4;
    if (argc > 5 && strcmp(argv[4], "--imatrix") == 0) {
        size_t imatrix_size;
        imatrix = read_all(argv[5], &imatrix_size);
        if (imatrix_size != sizeof(float) * n_per_row) { fprintf(stderr, "%s: not %lld floats\n", argv[5], (long long) n_per_row); return 2; }
        first = 6;
    }
    for (int a = first; a < argc; a++) {
        enum ggml_type type = GGML_TYPE_COUNT;
        for (int t = 0; t < GGML_TYPE_COUNT; t++) {
            const char *name = ggml_type_name((enum ggml_type) t);
            if (name && strcmp(name, argv[a]) == 0) { type = (enum ggml_type) t; }
        }
        if (type == GGML_TYPE_COUNT) { fprintf(stderr, "unknown type %s\n", argv[a]); return 2; }
        size_t bytes = ggml_row_size(type, n_per_row) * nrows;
        void *blocks = malloc(bytes);
        size_t written = ggml_quantize_chunk(type, rows, blocks, 0, nrows, n_per_row, imatrix);
        if (written != bytes) { fprintf(stderr, "%s: wrote %zu of %zu bytes\n", argv[a], written, bytes); return 1; }
        float *decoded = malloc(sizeof(float) * nrows * n_per_row);
        ggml_get_type_traits(type)->to_float(blocks, decoded, nrows * n_per_row);
        write_all(argv[3], argv[a], imatrix ? "imatrix.bin" : "bin", blocks, bytes);
        write_all(argv[3], argv[a], imatrix ? "imatrix.f32" : "f32", decoded, sizeof(float) * nrows * n_per_row);
        free(blocks);
        free(decoded);
    }
    free(rows);
    return 0;
}
