/*
 * llama.cpp as the reference for finetune4j's GGUF export: loads a GGUF file and prints, as one JSON object,
 * llama.cpp's tokenization of each text (without and with the model's own special tokens, special tokens in the
 * text parsed) and the logits of every position of the given token ids, decoded in one batch with a float32 KV
 * cache (so the reference is not rounded to f16) on the CPU: in one ubatch, or with UBATCH=N in the environment in
 * ubatches of N tokens, each reading the recurrent states and the KV cache the ones before it left.
 *
 * usage: gguf_llamacpp BACKEND_DIR MODEL.gguf TEXTS_FILE IDS [LORA.gguf]
 *   BACKEND_DIR  folder of llama.cpp's libggml-cpu-*.so backends
 *   TEXTS_FILE   UTF-8 texts, one per line
 *   IDS          comma-separated token ids, e.g. 1,2,3
 *   LORA.gguf    a LoRA adapter GGUF applied at scale 1 for the logits (as llama-cli --lora does)
 *   UBATCH       (environment) tokens per ubatch; unset: all of them at once
 * Built and run by gguf_llamacpp.sh.
 */
#include "llamacpp_common.h"
#include "ggml-backend.h"

int main(int argc, char ** argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s BACKEND_DIR MODEL.gguf TEXTS_FILE IDS [LORA.gguf]\n", argv[0]);
        return 2;
    }
    llama_log_set(quiet, NULL);
    ggml_backend_load_all_from_path(argv[1]);
    llama_backend_init();

    struct llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    struct llama_model * model = llama_model_load_from_file(argv[2], mparams);
    if (model == NULL) {
        fprintf(stderr, "llama.cpp could not load %s\n", argv[2]);
        return 1;
    }
    const struct llama_vocab * vocab = llama_model_get_vocab(model);

    printf("{\"n_vocab\":%d,\"texts\":[", llama_vocab_n_tokens(vocab));
    FILE * texts = fopen(argv[3], "r");
    if (texts == NULL) {
        fprintf(stderr, "cannot read %s\n", argv[3]);
        return 1;
    }
    char line[4096];
    int first = 1;
    while (fgets(line, sizeof line, texts) != NULL) {
        line[strcspn(line, "\n")] = 0;
        printf(first ? "{\"plain\":" : ",{\"plain\":");
        print_tokens(vocab, line, false);
        printf(",\"special\":");
        print_tokens(vocab, line, true);
        printf("}");
        first = 0;
    }
    fclose(texts);
    printf("],");

    int32_t n_ids = 1;
    for (const char * c = argv[4]; *c; c++) {
        n_ids += *c == ',';
    }
    struct llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = (uint32_t) (n_ids < 64 ? 64 : n_ids);
    cparams.n_batch = cparams.n_ctx;
    const char * ubatch = getenv("UBATCH");
    cparams.n_ubatch = ubatch != NULL && *ubatch ? (uint32_t) atoi(ubatch) : cparams.n_ctx;
    cparams.n_threads = 2;
    cparams.n_threads_batch = 2;
    cparams.type_k = GGML_TYPE_F32;
    cparams.type_v = GGML_TYPE_F32;
    cparams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context * ctx = llama_init_from_model(model, cparams);
    if (ctx == NULL) {
        fprintf(stderr, "llama.cpp could not create a context\n");
        return 1;
    }
    struct llama_adapter_lora * lora = NULL;
    if (argc == 6) {
        lora = llama_adapter_lora_init(model, argv[5]);
        float scale = 1.0f;
        if (lora == NULL || llama_set_adapters_lora(ctx, &lora, 1, &scale) != 0) {
            fprintf(stderr, "llama.cpp could not apply the adapter %s\n", argv[5]);
            return 1;
        }
    }
    struct llama_batch batch = llama_batch_init(n_ids, 0, 1);
    char * ids = strdup(argv[4]);
    int32_t i = 0;
    for (char * tok = strtok(ids, ","); tok != NULL; tok = strtok(NULL, ","), i++) {
        batch.token[i] = atoi(tok);
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n_ids;
    if (llama_decode(ctx, batch) != 0) {
        fprintf(stderr, "llama_decode failed\n");
        return 1;
    }
    int32_t n_vocab = llama_vocab_n_tokens(vocab);
    printf("\"n_ubatch\":%u,\"ids\":[%s],\"logits\":[", llama_n_ubatch(ctx), argv[4]);
    for (i = 0; i < n_ids; i++) {
        const float * row = llama_get_logits_ith(ctx, i);
        printf(i ? ",[" : "[");
        for (int32_t v = 0; v < n_vocab; v++) {
            printf(v ? ",%.9g" : "%.9g", row[v]);
        }
        printf("]");
    }
    printf("]}\n");

    free(ids);
    llama_batch_free(batch);
    llama_free(ctx);
    if (lora != NULL) {
        llama_adapter_lora_free(lora);
    }
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
