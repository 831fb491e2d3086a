"""Golden references made by transformers itself for the encoder sequence classifiers: roberta_cls
(RobertaForSequenceClassification), xlm_roberta_cls (XLMRobertaForSequenceClassification), distilbert_cls
(DistilBertForSequenceClassification) and bert_pair_cls (BertForSequenceClassification on sentence pairs).

    cd /tmp && /tmp/tfvenv/bin/python <repo>/tools/reference/encoder_classifiers.py --write

(run it from outside the repository: its peft/ folder would shadow the peft package). Needs torch and transformers
5.17, no network. For each case it builds a tiny model with transformers' own config class, sets every weight from
a fixed seed in name order (LayerNorm weights 1 + 0.1 N(0,1), biases 0.05 N(0,1), embedding tables 0.5 N(0,1), the
other matrices 0.15 N(0,1)), and writes core/src/test/resources/references/NAME/:

- config.json and model.safetensors from save_pretrained (config.json without transformers_version), the weights
  rounded to bfloat16 values after drawing and stored as bfloat16 (half float32's bytes);
- reference.safetensors, computed by that model in float32 with attn_implementation="eager": input_ids (3, 12)
  (row 0 holds the pad id at position 5 among real tokens, attended; row 1 is right-padded by 4, row 2 left-padded by
  3, with the pad id), attention_mask (3, 12), labels (3), logits (3, num_labels) in eval mode, loss (1) (the
  model's cross-entropy with the labels) and grad.NAME (d loss / d NAME) for the GRADIENTS of each case: both
  embedding tables (the word table's pad row, and RoBERTa's position table's, take no gradient: nn.Embedding's
  padding_idx), a query and an output projection, the embeddings' LayerNorm and every matrix of the head.

bert_pair_cls holds sentence pairs instead: each row [CLS] A [SEP] B [SEP] (ids 2 and 3) with token_type_ids (3, 12),
0 up to the first [SEP] and 1 after it, row 1 right-padded by 3 (padding of type 0, as the tokenizer pads); its
gradients include bert.embeddings.token_type_embeddings.weight, and the token types must move the logits.

The script fails unless the rules the references are meant to test move the logits by more than 1e-3: RoBERTa's
position ids (create_position_ids_from_input_ids: counting real tokens from padding_idx + 1) against positions
counted from padding_idx + 1 regardless of padding, the attention mask against none, and each head's activation.
A rerun in the same environment writes the same bytes.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch
import transformers
from safetensors.torch import load_file, save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "core", "src", "test", "resources", "references")
BATCH, LENGTH = 3, 12
# 272 ids: core's tokenizer/bytebpe (ids 0 to 269) can feed the RoBERTa models in the samples' CLI tests
SIZES = dict(vocab_size=272, max_position_embeddings=40)
ROBERTA = dict(SIZES, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
               type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2)


def labels(*names):
    return dict(id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)})


CASES = {
    "roberta_cls": (transformers.RobertaConfig(**ROBERTA, **labels("billing", "refund", "other")),
                    transformers.RobertaForSequenceClassification, "roberta"),
    "xlm_roberta_cls": (transformers.XLMRobertaConfig(**ROBERTA, **labels("negative", "positive")),
                        transformers.XLMRobertaForSequenceClassification, "roberta"),
    "distilbert_cls": (transformers.DistilBertConfig(**SIZES, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                                                     pad_token_id=0, **labels("billing", "refund", "other")),
                       transformers.DistilBertForSequenceClassification, "distilbert"),
    "bert_pair_cls": (transformers.BertConfig(**SIZES, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                              intermediate_size=64, type_vocab_size=2, pad_token_id=0,
                                              **labels("contradiction", "entailment", "neutral")),
                      transformers.BertForSequenceClassification, "bert"),
}
GRADIENTS = {
    "roberta": ["roberta.embeddings.word_embeddings.weight", "roberta.embeddings.position_embeddings.weight",
                "roberta.embeddings.LayerNorm.weight", "roberta.encoder.layer.0.attention.self.query.weight",
                "roberta.encoder.layer.1.output.dense.weight", "classifier.dense.weight", "classifier.out_proj.weight"],
    "distilbert": ["distilbert.embeddings.word_embeddings.weight", "distilbert.embeddings.position_embeddings.weight",
                   "distilbert.embeddings.LayerNorm.weight", "distilbert.transformer.layer.0.attention.q_lin.weight",
                   "distilbert.transformer.layer.1.ffn.lin2.weight", "pre_classifier.weight", "classifier.weight"],
    "bert": ["bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
             "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
             "bert.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.1.output.dense.weight",
             "bert.pooler.dense.weight", "classifier.weight"],
}
CLS, SEP = 2, 3
# where each row's first text ends ([SEP]) and its padding starts
PAIR_SPLITS = [(4, LENGTH), (6, LENGTH - 3), (2, LENGTH)]
SEED = 4242


def set_weights(model, seed):
    """Every parameter drawn from one generator in name order, so that a misplaced norm, bias or row shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            noise = torch.randn(p.shape, generator=g)
            if name.endswith(".bias"):
                p.copy_(0.05 * noise)
            elif "LayerNorm" in name or "layer_norm" in name:
                p.copy_(1 + 0.1 * noise)
            elif "embeddings" in name:
                p.copy_(0.5 * noise)
            else:
                p.copy_(0.15 * noise)


def inputs(config, seed):
    g = torch.Generator().manual_seed(seed)
    pad = config.pad_token_id
    ids = torch.randint(3, config.vocab_size, (BATCH, LENGTH), generator=g)
    mask = torch.ones_like(ids)
    ids[0, 5] = pad  # the pad id among real tokens: attended, and (RoBERTa) at position padding_idx, not counted
    ids[1, -4:], mask[1, -4:] = pad, 0
    ids[2, :3], mask[2, :3] = pad, 0
    return ids, mask, torch.tensor([2, 0, 1]) % config.num_labels


def pair_inputs(config, seed):
    """Rows [CLS] A [SEP] B [SEP] of three different splits, row 1 right-padded, with their token types."""
    ids, mask, targets = inputs(config, seed)
    types = torch.zeros_like(ids)
    mask[:] = 1
    for row, (sep, end) in enumerate(PAIR_SPLITS):
        ids[row, 0], ids[row, sep], ids[row, end - 1] = CLS, SEP, SEP
        types[row, sep + 1:end] = 1
        ids[row, end:], mask[row, end:] = config.pad_token_id, 0
    return ids, mask, types, targets


def logits(model, ids, mask, **kwargs):
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask, **kwargs).logits


def bites(name, model, family, ids, mask, expected, types):
    """The logits each rule moves: a rule that does not move them would pass untested."""
    kwargs = {} if types is None else {"token_type_ids": types}
    moved = {"attention mask": (logits(model, ids, None, **kwargs) - expected).abs().max().item()}
    config = model.config
    if family == "bert":
        moved["token types"] = (logits(model, ids, mask) - expected).abs().max().item()
    elif family == "roberta":
        plain = torch.arange(LENGTH).expand(BATCH, -1) + config.pad_token_id + 1
        moved["position ids counted over padding too"] = (
            logits(model, ids, mask, position_ids=plain) - expected).abs().max().item()
        head = model.classifier
        original = head.forward
        head.forward = lambda x: head.out_proj(torch.relu(head.dense(x[:, 0])))
        moved["ReLU for tanh in the head"] = (logits(model, ids, mask) - expected).abs().max().item()
        head.forward = original
    else:
        original = torch.nn.ReLU.forward
        torch.nn.ReLU.forward = lambda self, x: torch.tanh(x)
        moved["tanh for ReLU in the head"] = (logits(model, ids, mask) - expected).abs().max().item()
        torch.nn.ReLU.forward = original
    weak = {rule: d for rule, d in moved.items() if d <= 1e-3}
    if weak:
        sys.exit(f"{name}: these rules do not move the logits, so the reference would not test them: {weak}")
    return moved


def case(name, config, model_class, family, folder):
    torch.manual_seed(SEED)
    config._attn_implementation = "eager"
    model = model_class(config).float()
    set_weights(model, SEED)
    with torch.no_grad():  # bfloat16 values, stored as bfloat16: the float32 references come from exactly those
        for p in model.parameters():
            p.copy_(p.bfloat16().float())
    model.save_pretrained(folder)
    weights = os.path.join(folder, "model.safetensors")
    save_file({n: t.bfloat16() if t.is_floating_point() else t for n, t in load_file(weights).items()}, weights,
              metadata={"format": "pt"})
    path = os.path.join(folder, "config.json")
    saved = json.load(open(path))
    saved.pop("transformers_version", None)
    with open(path, "w") as f:
        f.write(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    # the folder as a user loads it, so that the reference is what transformers makes of config.json
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder, attn_implementation="eager",
                                                                            dtype=torch.float32)
    if type(model) is not model_class:
        sys.exit(f"{name}: the saved folder loads as {type(model).__name__}")
    if family == "bert":
        ids, mask, types, targets = pair_inputs(model.config, SEED + 1)
    else:
        (ids, mask, targets), types = inputs(model.config, SEED + 1), None
    kwargs = {} if types is None else {"token_type_ids": types}
    model.eval()
    expected = logits(model, ids, mask, **kwargs)
    moved = bites(name, model, family, ids, mask, expected, types)
    out = model(input_ids=ids, attention_mask=mask, labels=targets, **kwargs)
    out.loss.backward()
    params = dict(model.named_parameters())
    tensors = {"input_ids": ids, "attention_mask": mask, "labels": targets, "logits": out.logits.detach(),
               "loss": out.loss.detach().reshape(1)}
    if types is not None:
        tensors["token_type_ids"] = types
    for g in GRADIENTS[family]:
        tensors["grad." + g] = params[g].grad.detach().clone()
    if not torch.equal(tensors["logits"], expected):
        sys.exit(f"{name}: the logits of the backward pass differ from the eval pass's")
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(folder, "reference.safetensors"))
    print(f"{name}: logits {expected.tolist()}, loss {out.loss.item():.6f}; moved by " +
          ", ".join(f"{rule} {d:.2e}" for rule, d in moved.items()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="write the references (else only check)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, (config, model_class, family) in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            case(name, config, model_class, family, tmp)
            if args.write:
                folder = os.path.join(OUT, name)
                os.makedirs(folder, exist_ok=True)
                for file in ("config.json", "model.safetensors", "reference.safetensors"):
                    shutil.copyfile(os.path.join(tmp, file), os.path.join(folder, file))


if __name__ == "__main__":
    main()
