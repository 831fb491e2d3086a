"""Golden outputs of a decoder sequence classifier (Qwen2ForSequenceClassification as transformers 5.x defines it).

transformers cannot be installed here (no PyPI); this builds the classifier on families_torch.py's plain-PyTorch
decoder, which --check compares with transformers-made folders first. The rules, as read in transformers'
GenericForSequenceClassification / LlamaForSequenceClassification and loss_utils.ForSequenceClassificationLoss:

  * logits = score(final hidden states), score = Linear(hidden_size, num_labels, bias=False) named score.weight;
  * each row is pooled at its last non-padding token, found from input_ids (not the attention mask):
    argmax over positions of (position * (input_ids != pad_token_id)), i.e. the rightmost token that is not the pad
    id, position 0 for a row of pads; no pad_token_id: the last position, and batches of one row only;
  * loss: problem_type unset with num_labels > 1 and integer labels is single-label classification, mean
    cross-entropy over the rows; problem_type "multi_label_classification" is BCEWithLogitsLoss (mean over rows and
    labels) of the logits against float 0/1 label vectors.

    /usr/bin/python3 tools/reference/classifier_torch.py
        checks families_torch against transformers' folders, then writes
        core/src/test/resources/references/qwen2_cls/{config.json, model.safetensors, reference.safetensors,
        multi_label.safetensors} (the last: the same model as a multi-label classifier on right-padded rows);
        model.safetensors stores its weights, score.weight included, as bfloat16 values in bfloat16
        (families_torch.bf16_values), the references computed from them in float32.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import families_torch as ft  # noqa: E402

PAD = 0
LABELS = ["negative", "neutral", "positive"]
SEED = 31


def classifier_config():
    """The keys transformers 5.x's save_pretrained writes for Qwen2ForSequenceClassification with three labels."""
    return dict(ft.SIZES, architectures=["Qwen2ForSequenceClassification"], model_type="qwen2", hidden_act="silu",
                rms_norm_eps=1e-6, tie_word_embeddings=False, rope_parameters=dict(ft.DEFAULT_ROPE),
                use_sliding_window=False, sliding_window=None, max_window_layers=2,
                layer_types=["full_attention", "full_attention"], bos_token_id=None, eos_token_id=None,
                pad_token_id=PAD, id2label={str(i): name for i, name in enumerate(LABELS)},
                label2id={name: i for i, name in enumerate(LABELS)}, problem_type=None)


def pooled_positions(input_ids, pad_token_id):
    """Each row's last non-padding position, as transformers computes it."""
    if pad_token_id is None:
        if input_ids.shape[0] != 1:
            raise ValueError("Cannot handle batch sizes > 1 if no padding token is defined.")
        return torch.full((1,), input_ids.shape[1] - 1, dtype=torch.int64)
    non_pad = (input_ids != pad_token_id).to(torch.int32)
    return (torch.arange(input_ids.shape[1], dtype=torch.int32) * non_pad).argmax(-1)


def classify(config, weights, score, input_ids, attention_mask):
    """Pooled logits (B, num_labels): the decoder's hidden states through score, read at the pooled positions."""
    # families_torch applies lm_head.weight to the final hidden states: the score matrix in its place is score(h)
    decoder = ft.CausalLM(config, dict(weights, **{"lm_head.weight": score}))
    logits = decoder.forward(input_ids, attention_mask=attention_mask)
    last = pooled_positions(input_ids, config["pad_token_id"])
    return logits[torch.arange(input_ids.shape[0]), last]


def main():
    torch.set_num_threads(1)
    check_error = ft.check_transformers_made()
    if check_error > ft.CHECK_TOLERANCE:
        sys.exit("families_torch does not reproduce transformers' outputs; no fixture written")
    config = classifier_config()
    weights = ft.bf16_values(ft.random_weights(config, SEED, 0.1, 0.1))
    g = torch.Generator().manual_seed(SEED + 1)
    score = (torch.randn(len(LABELS), config["hidden_size"], generator=g) * 0.1).bfloat16().float()
    ids = torch.randint(1, config["vocab_size"], (3, 10), generator=g)
    mask = torch.ones_like(ids)
    ids[0, 4] = PAD  # a pad id inside a real row: attended, and not where the row is pooled
    ids[1, 7:], mask[1, 7:] = PAD, 0  # right padding: pooled at position 6
    ids[2, :3], mask[2, :3] = PAD, 0  # left padding: pooled at position 9
    labels = torch.tensor([2, 0, 1])
    with torch.no_grad():
        logits = classify(config, weights, score, ids, mask)
        loss = F.cross_entropy(logits, labels).reshape(1)
        # evidence that the pooling bites: reading every row at its last position gives other logits for row 1
        last_position = classify(dict(config, pad_token_id=None), weights, score, ids[1:2], mask[1:2])
    if torch.allclose(last_position[0], logits[1], atol=1e-3):
        sys.exit("row 1's pooled logits equal its last position's: the fixture would not test the pooling")
    folder = os.path.join(ft.RESOURCES, "references", "qwen2_cls")
    ft.write_model_folder(folder, config, dict(weights, **{"score.weight": score}))
    ft.write_safetensors(os.path.join(folder, "reference.safetensors"),
                         {"input_ids": ids, "attention_mask": mask, "labels": labels, "logits": logits, "loss": loss,
                          "pooled_positions": pooled_positions(ids, PAD).to(torch.int64)})
    print(f"wrote {folder}: logits {logits.tolist()}, loss {loss.item():.6f} (families_torch check error "
          f"{check_error:.2e})")
    write_multi_label(folder, config, weights, score)


def write_multi_label(folder, config, weights, score):
    """The same classifier with problem_type multi_label_classification: three right-padded rows (10, 7 and 5
    tokens, as finetune4j's PaddedBatch pads them) with 0/1 label vectors (one with every class, one with none);
    logits, BCEWithLogitsLoss (mean over rows and labels) and its gradient with respect to score.weight."""
    g = torch.Generator().manual_seed(SEED + 2)
    ids = torch.randint(1, config["vocab_size"], (3, 10), generator=g)
    mask = torch.ones_like(ids)
    ids[1, 7:], mask[1, 7:] = PAD, 0
    ids[2, 5:], mask[2, 5:] = PAD, 0
    labels = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    head = score.clone().requires_grad_(True)
    logits = classify(config, weights, head, ids, mask)
    loss = F.binary_cross_entropy_with_logits(logits, labels)
    loss.backward()
    ft.write_safetensors(os.path.join(folder, "multi_label.safetensors"),
                         {"input_ids": ids, "attention_mask": mask, "labels": labels, "logits": logits.detach(),
                          "loss": loss.detach().reshape(1), "score.weight.grad": head.grad})
    print(f"wrote multi_label.safetensors: logits {logits.tolist()}, loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
