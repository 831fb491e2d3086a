// llama.cpp's llama-quantize as a library call, the reference for finetune4j's K-quant exports (gguf module,
// LlamaCppReferenceTest): quantizes the float32 GGUF IN to OUT as llama_ftype FTYPE with llama.cpp's default settings
// and no importance matrix, as `llama-quantize IN OUT Q4_K_M` does.
// usage: llama_quantize IN OUT FTYPE   (FTYPE: 15 Q4_K_M, 17 Q5_K_M, 18 Q6_K)
#include <stdio.h>
#include <stdlib.h>
#include "llama.h"

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s IN OUT FTYPE\n", argv[0]); return 2; }
    llama_backend_init();
    struct llama_model_quantize_params params = llama_model_quantize_default_params();
    params.ftype = (enum llama_ftype) atoi(argv[3]);
    params.nthread = 1;
    uint32_t failed = llama_model_quantize(argv[1], argv[2], &params);
    llama_backend_free();
    if (failed) { fprintf(stderr, "llama_model_quantize failed for %s\n", argv[1]); return 1; }
    return 0;
}
