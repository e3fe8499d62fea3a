"""The distilled student keeps the layers it is told, with the teacher's weights, and leaves the teacher whole."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def test_the_student_is_the_teachers_chosen_layers():
    from classifiers.distill import student_from

    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=32)
    torch.manual_seed(0)
    teacher = transformers.BertModel(config).eval()
    student = student_from(teacher, [0, 3])
    assert len(student.encoder.layer) == 2 and student.config.num_hidden_layers == 2
    assert len(teacher.encoder.layer) == 4 and teacher.config.num_hidden_layers == 4
    for mine, theirs in zip(student.encoder.layer, [teacher.encoder.layer[0], teacher.encoder.layer[3]]):
        for a, b in zip(mine.parameters(), theirs.parameters()):
            assert torch.equal(a, b) and a.data_ptr() != b.data_ptr()  # a copy: training the student leaves the teacher
    ids = torch.tensor([[1, 5, 7, 2]])
    out = student(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    assert out.shape == (1, 4, 16)
