// llama.cpp's imatrix reader (common_imatrix_load, the one llama-quantize --imatrix uses) as the reference for
// finetune4j's ImportanceMatrix.save (gguf module, LlamaCppReferenceTest): loads FILE and writes to standard output
// a line of metadata (has_metadata, is_legacy, chunk_count, chunk_size, then the datasets, tab-separated), then per
// entry one line: name, counts (comma-separated: one per expert of a mixture's stacked ffn_*_exps, else one), then the
// float32 sums as 8 hex digits each (their bits), tab-separated.
// usage: imatrix_read FILE
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include "imatrix-loader.h"

int main(int argc, char **argv) {
    if (argc != 2) { std::fprintf(stderr, "usage: %s FILE\n", argv[0]); return 2; }
    common_imatrix imatrix;
    if (!common_imatrix_load(argv[1], imatrix)) { std::fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    std::printf("%d\t%d\t%d\t%d", imatrix.has_metadata, imatrix.is_legacy, imatrix.chunk_count, imatrix.chunk_size);
    for (const auto & d : imatrix.datasets) { std::printf("\t%s", d.c_str()); }
    std::printf("\n");
    for (const auto & [name, e] : imatrix.entries) {
        std::printf("%s\t", name.c_str());
        if (e.counts.empty()) { std::printf("-1"); }
        for (size_t i = 0; i < e.counts.size(); ++i) { std::printf(i == 0 ? "%" PRId64 : ",%" PRId64, e.counts[i]); }
        for (float v : e.sums) {
            uint32_t bits;
            std::memcpy(&bits, &v, 4);
            std::printf("\t%08x", bits);
        }
        std::printf("\n");
    }
    return 0;
}
