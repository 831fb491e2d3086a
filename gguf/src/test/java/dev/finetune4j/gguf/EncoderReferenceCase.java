package dev.finetune4j.gguf;

import dev.finetune4j.core.models.AutoModel;
import dev.finetune4j.core.models.ReferenceFolders;
import dev.finetune4j.core.models.bert.EncoderClassifier;
import dev.finetune4j.core.tokenizer.HfTokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * An encoder classifier exported as GGUF and scored by llama.cpp (tools/reference/gguf_llamacpp_classify.sh writes
 * {@code src/test/resources/llamacpp/<name>.json}): one of core's reference classifiers, made by transformers, with
 * one of core's test tokenizers whose ids fit its vocabulary.
 *
 * @param name      the fixture's name
 * @param model     core's reference folder of the classifier
 * @param tokenizer core's test tokenizer folder and its files
 * @param files     the tokenizer's files
 * @param type      how the export stores the weight matrices
 * @param texts     the texts llama.cpp tokenizes and scores
 */
record EncoderReferenceCase(String name, String model, String tokenizer, List<String> files, GgufType type,
                            List<String> texts) {
    /** Texts of the BERT and RoBERTa cases: words of the tokenizers' small vocabularies, an accent, punctuation. */
    static final List<String> TEXTS = List.of("the refunds my billing is wrong!", "please, help my Café bill?",
            "unbelievable refund", "the bill is wrong, please help");
    /**
     * Texts of the XLM-RoBERTa case with SentencePiece's NFKC table: subwords, accents composed and (e + U+0301)
     * decomposed, full-width letters and punctuation, a ligature, CJK with unknown characters fused into one
     * {@code <unk>}, and runs of spaces before, between and after words.
     */
    static final List<String> NFKC_TEXTS = List.of("the refunds, my billing is wrong!", "please help: Café crème brûlée?",
            "Cafe\u0301 ｈｅｌｐ ﬁne", "你好世界，谢谢！", "  hello   world, unbelievable trailing  ");
    /**
     * Texts of the XLM-RoBERTa case without a normalizer, where each space is a ▁: two between words, one after the
     * last, unnormalized full-width and CJK characters as {@code <unk>}.
     */
    static final List<String> METASPACE_TEXTS = List.of("the refund is wrong please help my billing", "hello  world ",
            "你好世界，谢谢！ bills", "my ｂｉｌｌ is wrong, zzz!");

    static final List<EncoderReferenceCase> ALL = List.of(
            new EncoderReferenceCase("bert-cls-wordpiece-f32", "references/bert_pair_cls", "tokenizer/bert-wordpiece",
                    List.of("tokenizer.json", "tokenizer_config.json"), GgufType.F32, TEXTS),
            new EncoderReferenceCase("bert-cls-wordpiece-q8_0", "references/bert_pair_cls", "tokenizer/bert-wordpiece",
                    List.of("tokenizer.json", "tokenizer_config.json"), GgufType.Q8_0, TEXTS),
            new EncoderReferenceCase("roberta-cls-bytebpe-f16", "references/roberta_cls", "tokenizer/roberta-bytebpe",
                    List.of("tokenizer.json"), GgufType.F16, TEXTS),
            new EncoderReferenceCase("xlmr-cls-unigram-nfkc-f32", "references/xlm_roberta_cls",
                    "tokenizer/xlmr-unigram-nfkc", List.of("tokenizer.json"), GgufType.F32, NFKC_TEXTS),
            new EncoderReferenceCase("xlmr-cls-metaspace-f16", "references/xlm_roberta_cls",
                    "tokenizer/xlmr-unigram-metaspace", List.of("tokenizer.json"), GgufType.F16, METASPACE_TEXTS));

    /** The classifier and its tokenizer copied into {@code dir}, a new folder. */
    Path folder(Path dir) throws IOException {
        ReferenceFolders.copy(model, List.of("config.json", "model.safetensors"), dir);
        return ReferenceFolders.copy(tokenizer, files, dir);
    }

    /** The classifier of {@link #folder}. */
    static EncoderClassifier classifier(Path folder) {
        return (EncoderClassifier) AutoModel.loadSequenceClassifier(folder);
    }

    /** Each text's ids with the tokenizer's special tokens, the rows llama.cpp scores. */
    long[][] rows(HfTokenizer tokenizer) {
        return texts.stream().map(t -> tokenizer.encodeWithSpecialTokens(t, 64)).toArray(long[][]::new);
    }

    /** The rows as gguf_llamacpp_classify takes them: ids joined by ',', rows by ';'. */
    static String rowsArgument(long[][] rows) {
        return String.join(";", Arrays.stream(rows).map(r -> String.join(",",
                Arrays.stream(r).mapToObj(Long::toString).toList())).toList());
    }
}
