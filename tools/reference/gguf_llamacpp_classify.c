/*
 * llama.cpp as the reference for finetune4j's GGUF export of encoder classifiers: loads a GGUF file of the bert
 * architecture with a classification head and prints, as one JSON object, the pooling type the file sets, the
 * labels it names, llama.cpp's tokenization of each text (special tokens added, as llama-server adds them) and the
 * scores of each row of token ids (rank pooling: the head on the first token), each row decoded on its own.
 *
 * usage: gguf_llamacpp_classify BACKEND_DIR MODEL.gguf TEXTS_FILE ROWS
 *   BACKEND_DIR  folder of llama.cpp's libggml-cpu-*.so backends
 *   TEXTS_FILE   UTF-8 texts, one per line
 *   ROWS         rows of comma-separated token ids, separated by ';', e.g. 2,5,3;2,8,9,3
 * Built and run by gguf_llamacpp_classify.sh.
 */
#include "llamacpp_common.h"
#include "ggml-backend.h"

static void print_json_string(const char * s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            putchar('\\');
        }
        putchar(*s);
    }
    putchar('"');
}

int main(int argc, char ** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s BACKEND_DIR MODEL.gguf TEXTS_FILE ROWS\n", argv[0]);
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
    uint32_t n_cls = llama_model_n_cls_out(model);

    struct llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = 64;
    cparams.n_batch = 64;
    cparams.n_ubatch = 64;
    cparams.n_threads = 2;
    cparams.n_threads_batch = 2;
    cparams.embeddings = true;
    cparams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context * ctx = llama_init_from_model(model, cparams);
    if (ctx == NULL) {
        fprintf(stderr, "llama.cpp could not create a context\n");
        return 1;
    }

    printf("{\"pooling_type\":%d,\"labels\":[", (int) llama_pooling_type(ctx));
    for (uint32_t i = 0; i < n_cls; i++) {
        if (i) {
            putchar(',');
        }
        const char * label = llama_model_cls_label(model, i);
        print_json_string(label == NULL ? "" : label);
    }
    printf("],\"texts\":[");
    FILE * texts = fopen(argv[3], "r");
    if (texts == NULL) {
        fprintf(stderr, "cannot read %s\n", argv[3]);
        return 1;
    }
    char line[4096];
    int first = 1;
    while (fgets(line, sizeof line, texts) != NULL) {
        line[strcspn(line, "\n")] = 0;
        printf(first ? "" : ",");
        print_tokens(vocab, line, true);
        first = 0;
    }
    fclose(texts);
    printf("],\"rows\":[");

    char * rows = strdup(argv[4]);
    char * row_end = NULL;
    int r = 0;
    for (char * row = strtok_r(rows, ";", &row_end); row != NULL; row = strtok_r(NULL, ";", &row_end), r++) {
        struct llama_batch batch = llama_batch_init(64, 0, 1);
        char * id_end = NULL;
        int32_t n = 0;
        printf(r ? ",{\"ids\":[" : "{\"ids\":[");
        for (char * tok = strtok_r(row, ",", &id_end); tok != NULL; tok = strtok_r(NULL, ",", &id_end), n++) {
            batch.token[n] = atoi(tok);
            batch.pos[n] = n;
            batch.n_seq_id[n] = 1;
            batch.seq_id[n][0] = 0;
            batch.logits[n] = 1;
            printf(n ? ",%d" : "%d", batch.token[n]);
        }
        batch.n_tokens = n;
        if (llama_decode(ctx, batch) != 0) {
            fprintf(stderr, "llama_decode failed on row %d\n", r);
            return 1;
        }
        const float * scores = llama_get_embeddings_seq(ctx, 0);
        if (scores == NULL) {
            fprintf(stderr, "llama.cpp pooled nothing for row %d\n", r);
            return 1;
        }
        printf("],\"scores\":[");
        for (uint32_t i = 0; i < n_cls; i++) {
            printf(i ? ",%.9g" : "%.9g", scores[i]);
        }
        printf("]}");
        llama_batch_free(batch);
    }
    printf("]}\n");

    free(rows);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
