/*
 * What finetune4j's llama.cpp reference programs share (gguf_llamacpp.c, gguf_llamacpp_classify.c): a log filter that
 * lets only errors through, and llama.cpp's tokenization of a text printed as a JSON array.
 */
#ifndef FINETUNE4J_LLAMACPP_COMMON_H
#define FINETUNE4J_LLAMACPP_COMMON_H

#include "llama.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quiet(enum ggml_log_level level, const char * text, void * user) {
    (void) user;
    if (level == GGML_LOG_LEVEL_ERROR) {
        fputs(text, stderr);
    }
}

static void print_tokens(const struct llama_vocab * vocab, const char * text, bool add_special) {
    int32_t cap = (int32_t) strlen(text) + 8;
    llama_token * tokens = malloc(sizeof(llama_token) * cap);
    int32_t n = llama_tokenize(vocab, text, (int32_t) strlen(text), tokens, cap, add_special, true);
    if (n < 0) {
        fprintf(stderr, "tokenize failed for '%s'\n", text);
        exit(1);
    }
    printf("[");
    for (int32_t i = 0; i < n; i++) {
        printf(i ? ",%d" : "%d", tokens[i]);
    }
    printf("]");
    free(tokens);
}

#endif
