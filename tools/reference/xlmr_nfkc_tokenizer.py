"""A small XLM-RoBERTa tokenizer as transformers writes one, with SentencePiece's nmt_nfkc normalization, for the
GGUF export of XLM-RoBERTa classifiers (gguf module, LlamaCppEncoderReferenceTest).

    cd /tmp && PYTHONPATH=<sentencepiece> /tmp/tfvenv/bin/python <repo>/tools/reference/xlmr_nfkc_tokenizer.py

(run it from outside the repository: its peft/ folder would shadow the peft package). Needs transformers 5.17 and
sentencepiece (only for its built-in nmt_nfkc rule, the normalization XLM-RoBERTa's sentencepiece.bpe.model was
trained with); no network. It writes into core/src/test/resources/tokenizer/:

- xlmr-unigram-nfkc/tokenizer.json: transformers' XLMRobertaTokenizer over the pieces below (<s>, <pad>, </s>, <unk>
  at 0-3 and <mask> last, as XLM-RoBERTa lays them out), its normalizer the nmt_nfkc precompiled_charsmap (NFKC:
  composed accents, full-width letters and punctuation to ASCII, ligatures split), its pre-tokenizer WhitespaceSplit
  then Metaspace (▁ before every word), its post-processor <s> A </s>;
- xlmr-unigram-metaspace/tokenizer.json: the same without a normalizer and with Metaspace alone (each space a ▁), the
  layout of tokenizer.json files written before transformers 5 less their charsmap.

It prints the pieces of a few texts; a rerun writes the same bytes.
"""
import os

import sentencepiece as spm
from tokenizers import pre_tokenizers
from transformers import XLMRobertaTokenizer

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "core", "src", "test", "resources", "tokenizer")

# Whole words score above their parts, so that the Viterbi search prefers them; the parts let other words split.
WORDS = ["▁the", "▁my", "▁is", "▁help", "▁please", "▁wrong", "▁refund", "▁bill", "▁café", "▁crème", "▁fine",
         "▁hello", "▁world", "▁你好", "▁and", "▁un", "▁trail"]
PARTS = ["▁", "s", "ing", ",", "!", "?", ":", ".", "é", "è", "û", "▁caf", "▁cr", "ème", "▁br", "lée", "▁fi", "ne",
         "世界", "believ", "able", "▁double", "▁space"]
LETTERS = [c for c in "abcdefghijklmnopqrstuvwxyz" if c not in PARTS]  # each piece once: llama.cpp refuses twins


def charsmap():
    """The precompiled_charsmap of SentencePiece's nmt_nfkc rule: field 2 of its serialized NormalizerSpec."""
    spec = spm.SentencePieceNormalizer(rule_name="nmt_nfkc").serialized_normalizer_spec()
    at = 0
    while at < len(spec):
        key, at = varint(spec, at)
        length, at = varint(spec, at)
        if key == (2 << 3 | 2):
            return spec[at:at + length]
        at += length
    raise SystemExit("nmt_nfkc's normalizer spec has no precompiled_charsmap")


def varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def main():
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(w, -2.0 - 0.125 * i) for i, w in enumerate(WORDS)]
    vocab += [(p, -6.0 - 0.125 * i) for i, p in enumerate(PARTS)]
    vocab += [(c, -9.0 - 0.0625 * i) for i, c in enumerate(LETTERS)]
    vocab.append(("<mask>", 0.0))
    nfkc = XLMRobertaTokenizer(vocab=vocab, _spm_precompiled_charsmap=charsmap())
    metaspace = XLMRobertaTokenizer(vocab=vocab)
    metaspace.backend_tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    for name, tok in [("xlmr-unigram-nfkc", nfkc), ("xlmr-unigram-metaspace", metaspace)]:
        os.makedirs(os.path.join(OUT, name), exist_ok=True)
        tok.backend_tokenizer.save(os.path.join(OUT, name, "tokenizer.json"), pretty=True)
        for text in ["the refunds, my billing is wrong!", "Cafe\u0301 ｈｅｌｐ ﬁne", "你好世界，谢谢！", " hello  world "]:
            print(name, repr(text), tok.tokenize(text), tok(text)["input_ids"])
    print(len(vocab), "ids written to", OUT)


if __name__ == "__main__":
    main()
