"""Sentence-pair encodings made by transformers itself, for HfTokenizer.encodePairWithSpecialTokens.

    cd /tmp && /tmp/tfvenv/bin/python <repo>/tools/reference/pair_tokenizers.py --write

(run it from outside the repository: its peft/ folder would shadow the peft package). Needs tokenizers and
transformers 5.17, no network. It writes into core/src/test/resources/tokenizer/:

- roberta-bytebpe/tokenizer.json: bytebpe/ (GPT-2's byte-level BPE) with <s> (270) and </s> (271) added and
  roberta-base's post-processor, RobertaProcessing (pairs <s> A </s></s> B </s>, token types all 0);
- xlmr-unigram/tokenizer.json: a small Unigram model as XLM-RoBERTa's (<s>, <pad>, </s>, <unk> at 0-3, Metaspace
  pre-tokenizer and decoder) with XLM-RoBERTa's TemplateProcessing (pairs <s> A </s></s> B </s>, token types all 0);
- pair-encodings.json: for those two, bert-wordpiece/ (BERT's template: [CLS] A [SEP] B [SEP], types 0 then 1) and
  bytebpe/ (no post-processor: A then B, types 0 then 1, as the Rust tokenizers join a pair without a template),
  transformers' tokenizer(text, text_pair, truncation=True, max_length=n, return_token_type_ids=True) for pairs whose
  first or second text is the longer, or of equal length, cut to odd and even budgets (which text keeps the odd token
  depends on the lengths tokenizers 0.23 sees: it tokenizes a text only until its words reach max_length tokens), a
  budget of one token, and no cut; max_length null means no truncation.

Budgets below one token for the texts are left out: transformers logs an error and returns the pair uncut there,
which HfTokenizer refuses instead. A rerun in the same environment writes the same bytes.
"""
import argparse
import json
import os
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "core", "src", "test", "resources", "tokenizer")

XLMR_PIECES = ["▁the", "▁refund", "▁bill", "ing", "▁is", "▁wrong", "▁please", "▁help", "▁my", "s", "▁hello",
               "▁world", "▁你好", "▁", "!", ","] + list("abcdefghijklmnopqrstuvwxyz")

TEXTS = {
    "bert-wordpiece": ["refunds my billing is wrong please help", "the bill is wrong", "help!",
                       "café, unbelievable?"],
    "roberta-bytebpe": ["hello world hello world hello", "hello", "world, hello 你", "hello hello"],
    "xlmr-unigram": ["the refund is wrong please help my billing", "hello world", "你好 bills", "my bill is wrong"],
    "bytebpe": ["hello world hello world", "hello", "world 你", "hello hello"],
}


def roberta_bytebpe():
    tok = Tokenizer.from_file(os.path.join(OUT, "bytebpe", "tokenizer.json"))
    tok.add_special_tokens(["<s>", "</s>"])
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
                                                      trim_offsets=True, add_prefix_space=False)
    return tok


def xlmr_unigram():
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(piece, -1.0 - 0.25 * i) for i, piece in enumerate(XLMR_PIECES)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=3))
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return tok


def cases(name, path):
    tok = PreTrainedTokenizerFast(tokenizer_file=path)
    long_a, short_b, mid, tie = TEXTS[name]
    pairs = [(long_a, short_b), (short_b, long_a), (long_a, mid), (mid, long_a), (tie, tie), (long_a, long_a)]
    specials = tok.num_special_tokens_to_add(pair=True)
    out = []
    for a, b in pairs:
        whole = tok(a, b)["input_ids"]
        budgets = sorted({len(whole) - 1, len(whole) - 4, len(whole) // 2, len(whole) // 2 + 1, specials + 1})
        for n in [None] + [x for x in budgets if x > specials]:
            enc = tok(a, b, truncation=n is not None, max_length=n, return_token_type_ids=True)
            out.append(dict(text=a, text_pair=b, max_length=n, input_ids=enc["input_ids"],
                            token_type_ids=enc["token_type_ids"]))
    return specials, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="write the files (else only check)")
    args = parser.parse_args()
    made = {"roberta-bytebpe": roberta_bytebpe(), "xlmr-unigram": xlmr_unigram()}
    paths = {}
    for name, tok in made.items():
        folder = os.path.join(OUT, name) if args.write else os.path.join("/tmp", "pair_tokenizers", name)
        os.makedirs(folder, exist_ok=True)
        paths[name] = os.path.join(folder, "tokenizer.json")
        tok.save(paths[name], pretty=True)
    paths["bert-wordpiece"] = os.path.join(OUT, "bert-wordpiece", "tokenizer.json")
    paths["bytebpe"] = os.path.join(OUT, "bytebpe", "tokenizer.json")
    result = {}
    for name in ["bert-wordpiece", "roberta-bytebpe", "xlmr-unigram", "bytebpe"]:
        specials, rows = cases(name, paths[name])
        cut = sum(r["max_length"] is not None and len(r["input_ids"]) == r["max_length"] for r in rows)
        if cut < 10:
            sys.exit(f"{name}: only {cut} cases are cut to their max_length")
        result[name] = dict(special_tokens=specials, cases=rows)
        print(f"{name}: {specials} special tokens per pair, {len(rows)} cases ({cut} cut)")
    text = json.dumps(result, indent=1, ensure_ascii=False) + "\n"
    if args.write:
        with open(os.path.join(OUT, "pair-encodings.json"), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
