"""Golden outputs of the newer decoder families as transformers' *ForSequenceClassification: OLMo 2 and 3,
DeepSeek-V2 and V3 (latent attention, mixtures), Qwen3.5 (text: gated DeltaNet layers), Qwen3-Next, Ministral and
Ministral 3 (sliding layers; Llama 4's query temperature), Mistral 4 (latent attention under that temperature, a grouped
softmax router, fused experts).

    cd /tmp && /tmp/tfvenv/bin/python <repo>/tools/reference/decoder_classifiers.py --write

Each family's causal reference folder (core/src/test/resources/references/NAME, made by transformers_families.py) is
loaded by AutoModelForSequenceClassification with 3 labels and pad_token_id 0 (lm_head unused), its new score head
set from a fixed seed (0.3 N(0, 1)), and run in float32, eval mode, eager attention, on two rows of 10 tokens, the
second right-padded by 3 pad ids (its attention_mask 0 there). core/src/test/resources/references/classifiers/NAME
.safetensors holds input_ids, attention_mask, score.weight, logits (2, 3), labels (2) and loss (the single-label
cross-entropy transformers computes). The same command gives the same bytes.
"""
import argparse
import os

import torch
from safetensors.torch import save_file
from transformers import AutoModelForSequenceClassification

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
REFERENCES = os.path.join(REPO, "core", "src", "test", "resources", "references")
OUT = os.path.join(REFERENCES, "classifiers")
FAMILIES = ["olmo2", "olmo3", "deepseek_v2", "deepseek_v3", "qwen3_5", "qwen3_next", "ministral", "ministral3",
            "mistral4"]
LABELS, PAD, LENGTH, PADDED = 3, 0, 10, 3


def reference(name):
    torch.manual_seed(11)
    model = AutoModelForSequenceClassification.from_pretrained(
        os.path.join(REFERENCES, name), num_labels=LABELS, pad_token_id=PAD, attn_implementation="eager",
        dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        model.score.weight.copy_(0.3 * torch.randn_like(model.score.weight))
    ids = torch.randint(3, model.config.vocab_size, (2, LENGTH))
    ids[1, -PADDED:] = PAD
    mask = (ids != PAD).long()
    labels = torch.tensor([1, 2])
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
    print(f"{name}: {type(model).__name__}, logits {out.logits.tolist()}, loss {out.loss.item():.6f}")
    return {"input_ids": ids, "attention_mask": mask, "score.weight": model.score.weight.detach().clone(),
            "logits": out.logits, "labels": labels, "loss": out.loss.reshape(1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="write the references (else only print them)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in FAMILIES:
        tensors = reference(name)
        if args.write:
            os.makedirs(OUT, exist_ok=True)
            save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, name + ".safetensors"))


if __name__ == "__main__":
    main()
