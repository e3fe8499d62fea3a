"""A tiny, randomly initialised BERT sequence classifier saved to a folder: the ``hf-sequence``
adapter's tests load a real transformers checkpoint without any download."""

from __future__ import annotations

from pathlib import Path

INIT_RANGE = 0.3
TINY_LABELS = ("NEG", "POS", "ASK", "IDEA", "NEUTRAL")
WORDS = (
    "my order arrived broken late again never thanks great love it do you ship to where is "
    "would be nice if please add dark mode the app a an and is was why how what this that "
    "refund support help awesome terrible"
).split()


def build_tiny_model(folder: Path, labels: tuple[str, ...] = TINY_LABELS, seed: int = 0) -> Path:
    """Save a WordLevel tokenizer and a 2-layer, 32-wide BertForSequenceClassification into ``folder``.

    Weights are drawn wider than BERT's default (std 0.02), so that the random model gives clearly
    different probabilities to different texts instead of about 1/5 to every label of every text.
    """
    import torch
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    vocab = {token: i for i, token in enumerate(specials + sorted(set(WORDS)))}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        model_max_length=64,
    ).save_pretrained(folder)

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, num_labels=len(labels), initializer_range=INIT_RANGE,
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
    )
    model = BertForSequenceClassification(config)
    model.save_pretrained(folder)
    return folder
