"""Golden references for training-mode dropout: transformers' own classes in train() mode, every dropout drawing the
mask finetune4j draws (dropout_streams.patched_dropout), so that finetune4j's loss, logits and gradients with
dropout on must equal these.

    cd /tmp && /tmp/tfvenv/bin/python <repo>/tools/reference/training_dropout.py --write

Each case loads a tiny model folder already in core's test resources with some dropouts of its config.json
overridden (CASES), runs it in float32 with attn_implementation="eager" (where transformers applies the attention
dropout through nn.functional.dropout) on fixed inputs, and writes
core/src/test/resources/references/training_dropout/NAME.safetensors (input_ids, and for classifiers
attention_mask and labels; logits; loss: the causal LM's next-token loss over all positions, or the classifier's
cross-entropy; grad.NAME for the listed weights) and cases.json (folder, kind, seed, overrides, the draws
transformers made); and peft/src/test/resources/training_dropout/NAME/ (adapter_config.json and
adapter_model.safetensors as PEFT saves them, reference.safetensors with the LoRA tensors' gradients under their saved
names) for PEFT LoRA adapters with lora_dropout on two of the cases (LORA_CASES). It fails unless each case's dropouts move its loss (against the same model in eval mode) by more
than 1e-4 relative, and unless the draws count what the config asks for (a dropout the family's class ignores, as
ERNIE 4.5's attention_dropout, draws nothing).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch
from safetensors.torch import save_file
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dropout_streams import patched_dropout  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
RESOURCES = os.path.join(REPO, "core", "src", "test", "resources")
OUT = os.path.join(RESOURCES, "references", "training_dropout")
SEED = 20261207

# name: (folder under core's test resources, kind, overrides of config.json, the stack's layers, gradients, draws per
# forward as the config asks: embedding + layers x per-layer sites (+ classifier))
CASES = {
    "gpt2": ("hf-tiny/gpt2", "causal", {"attn_pdrop": 0.3, "resid_pdrop": 0.2, "embd_pdrop": 0.25},
             "transformer.h", ["transformer.wte.weight", "transformer.h.0.attn.c_attn.weight",
                               "transformer.h.1.mlp.c_proj.weight", "transformer.ln_f.weight"]),
    "llama": ("hf-tiny/llama", "causal", {"attention_dropout": 0.3}, "model.layers",
              ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.v_proj.weight",
               "model.layers.1.mlp.down_proj.weight", "model.norm.weight"]),
    "phi3": ("references/phi3", "causal", {"attention_dropout": 0.15, "resid_pdrop": 0.2, "embd_pdrop": 0.3},
             "model.layers", ["model.layers.0.self_attn.qkv_proj.weight", "model.layers.0.mlp.gate_up_proj.weight",
                              "model.layers.0.self_attn.o_proj.weight", "model.norm.weight"]),
    "starcoder2": ("references/starcoder2", "causal",
                   {"attention_dropout": 0.1, "residual_dropout": 0.2, "embedding_dropout": 0.3}, "model.layers",
                   ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.c_fc.weight",
                    "model.layers.0.mlp.c_proj.weight", "model.embed_tokens.weight"]),
    "seed_oss": ("references/seed_oss", "causal", {"attention_dropout": 0.2, "residual_dropout": 0.25},
                 "model.layers", ["model.layers.0.self_attn.k_proj.weight", "model.layers.0.mlp.up_proj.weight",
                                  "model.layers.0.self_attn.o_proj.weight", "model.norm.weight"]),
    "ernie4_5": ("references/ernie4_5", "causal", {"attention_dropout": 0.3}, "model.layers",
                 ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.down_proj.weight",
                  "model.layers.0.self_attn.o_proj.weight", "model.norm.weight"]),
    "bert_cls": ("hf-tiny/bert_cls", "classifier",
                 {"attention_probs_dropout_prob": 0.3, "hidden_dropout_prob": 0.2, "classifier_dropout": 0.4},
                 "bert.encoder.layer",
                 ["bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight",
                  "bert.encoder.layer.1.output.dense.weight", "classifier.weight"]),
    "qwen2_cls": ("references/qwen2_cls", "classifier", {"attention_dropout": 0.3}, "model.layers",
                  ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.down_proj.weight",
                   "model.norm.weight", "score.weight"]),
    "roberta_cls": ("references/roberta_cls", "classifier",
                    {"attention_probs_dropout_prob": 0.2, "hidden_dropout_prob": 0.15, "classifier_dropout": 0.3},
                    "roberta.encoder.layer",
                    ["roberta.embeddings.word_embeddings.weight", "roberta.encoder.layer.0.attention.self.value.weight",
                     "roberta.encoder.layer.1.output.dense.weight", "classifier.dense.weight",
                     "classifier.out_proj.weight"]),
    # classifier_dropout null in config.json: the head drops out with hidden_dropout_prob
    "xlm_roberta_cls": ("references/xlm_roberta_cls", "classifier",
                        {"attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.25}, "roberta.encoder.layer",
                        ["roberta.embeddings.position_embeddings.weight",
                         "roberta.encoder.layer.1.attention.output.dense.weight", "classifier.dense.weight",
                         "classifier.out_proj.weight"]),
    "distilbert_cls": ("references/distilbert_cls", "classifier",
                       {"attention_dropout": 0.15, "dropout": 0.2, "seq_classif_dropout": 0.3},
                       "distilbert.transformer.layer",
                       ["distilbert.embeddings.word_embeddings.weight",
                        "distilbert.transformer.layer.0.attention.q_lin.weight",
                        "distilbert.transformer.layer.1.ffn.lin2.weight", "pre_classifier.weight",
                        "classifier.weight"]),
}
# PEFT LoRA adapters (init_lora_weights=False, so B is not zero) with lora_dropout over the same models: the adapters'
# masks come from the model's streams between the model's own. name: (folder, kind, overrides, layers, LoRA targets)
LORA_CASES = {
    "llama_lora": ("hf-tiny/llama", "causal", {"attention_dropout": 0.1}, "base_model.model.model.layers",
                   ["q_proj", "v_proj", "down_proj"]),
    "bert_lora": ("hf-tiny/bert_cls", "classifier", {"attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1},
                  "base_model.model.bert.encoder.layer", ["query", "value"]),
    # the saved head: RoBERTa's whole classifier (dense and out_proj); DistilBERT's classifier, not pre_classifier
    "roberta_lora": ("references/roberta_cls", "classifier",
                     {"attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1},
                     "base_model.model.roberta.encoder.layer", ["query", "value"]),
    "distilbert_lora": ("references/distilbert_cls", "classifier", {"attention_dropout": 0.1, "dropout": 0.1},
                        "base_model.model.distilbert.transformer.layer", ["q_lin", "v_lin"]),
}
LORA_OUT = os.path.join(REPO, "peft", "src", "test", "resources", "training_dropout")
BATCH, LENGTH = 2, 12


def with_overrides(folder, overrides, tmp):
    """A copy of the folder whose config.json carries the overrides."""
    dst = tempfile.mkdtemp(dir=tmp)
    shutil.copytree(os.path.join(RESOURCES, folder), dst, dirs_exist_ok=True)
    path = os.path.join(dst, "config.json")
    config = json.load(open(path))
    config.update(overrides)
    json.dump(config, open(path, "w"), indent=2)
    return dst


def attribute(model, path):
    for part in path.split("."):
        model = getattr(model, part)
    return model


def run(model, kind, ids, mask, labels):
    if kind == "causal":
        logits = model(input_ids=ids).logits
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
    else:
        logits = model(input_ids=ids, attention_mask=mask).logits
        loss = torch.nn.functional.cross_entropy(logits, labels)
    return logits, loss


def case(name, folder, kind, overrides, layers, gradients, tmp, lora_targets=None):
    torch.manual_seed(7)
    path = with_overrides(folder, overrides, tmp)
    auto = AutoModelForCausalLM if kind == "causal" else AutoModelForSequenceClassification
    model = auto.from_pretrained(path, attn_implementation="eager", dtype=torch.float32)
    vocab = model.config.vocab_size
    if lora_targets is not None:
        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.2, target_modules=lora_targets,
                                                 init_lora_weights=False,
                                                 task_type="CAUSAL_LM" if kind == "causal" else "SEQ_CLS"))
        gradients = [n for n, p in model.named_parameters() if p.requires_grad]
    ids = torch.randint(3, vocab, (BATCH, LENGTH))
    tensors = {"input_ids": ids}
    mask = labels = None
    if kind == "classifier":
        ids[1, -3:] = model.config.pad_token_id  # row 1 right-padded: the key mask and the pooled position see it
        mask = (ids != model.config.pad_token_id).long()
        labels = torch.tensor([2, 0]) % model.config.num_labels
        tensors.update(attention_mask=mask, labels=labels)
    model.eval()
    with torch.no_grad():
        _, eval_loss = run(model, kind, ids, mask, labels)
    model.train()  # PEFT's wrapper too
    stack = [] if layers is None else list(attribute(model, layers))
    with patched_dropout(SEED, stack) as state:
        logits, loss = run(model, kind, ids, mask, labels)
        loss.backward()
    moved = abs(loss.item() - eval_loss.item()) / abs(eval_loss.item())
    ignored = name == "ernie4_5"
    if ignored != (moved <= 1e-4) or ignored != (state["draws"] == 0):
        raise SystemExit(f"{name}: dropout moved the loss by {moved:.2e} relative in {state['draws']} draws")
    params = dict(model.named_parameters())
    tensors.update(logits=logits.detach(), loss=loss.detach().reshape(1))
    for g in gradients:
        # under the names PEFT saves: without the adapter's name and a saved module's wrapper
        tensors["grad." + g.replace(".modules_to_save.default", "").replace(".default", "")] = params[g].grad.detach().clone()
    if lora_targets is not None:
        model.save_pretrained(os.path.join(tmp, name))
    print(f"{name}: loss {loss.item():.6f} (eval {eval_loss.item():.6f}), {state['draws']} draws")
    return tensors, {"folder": folder, "kind": kind, "seed": SEED, "overrides": overrides, "draws": state["draws"]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="write the references (else only check)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (folder, kind, overrides, layers, gradients) in CASES.items():
            tensors, cases[name] = case(name, folder, kind, overrides, layers, gradients, tmp)
            if args.write:
                os.makedirs(OUT, exist_ok=True)
                save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, name + ".safetensors"))
        lora_cases = {}
        for name, (folder, kind, overrides, layers, targets) in LORA_CASES.items():
            tensors, lora_cases[name] = case(name, folder, kind, overrides, layers, None, tmp, targets)
            if args.write:
                out = os.path.join(LORA_OUT, name)
                os.makedirs(out, exist_ok=True)
                shutil.copy(os.path.join(tmp, name, "adapter_model.safetensors"), out)
                config = json.load(open(os.path.join(tmp, name, "adapter_config.json")))
                config["base_model_name_or_path"] = folder  # not the temporary copy's path
                config["target_modules"] = sorted(config["target_modules"])  # a set in PEFT: its order varies
                with open(os.path.join(out, "adapter_config.json"), "w") as f:
                    json.dump(config, f, indent=2, sort_keys=True)
                    f.write("\n")
                save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(out, "reference.safetensors"))
    if args.write:
        for path, written in ((OUT, cases), (LORA_OUT, lora_cases)):
            with open(os.path.join(path, "cases.json"), "w") as f:
                json.dump(written, f, indent=2)
                f.write("\n")


if __name__ == "__main__":
    main()
